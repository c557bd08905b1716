#ifndef COURIER_CSQLITE_SHIM_H
#define COURIER_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro Swift cannot import: tells SQLite to copy bound bytes at once.
static inline sqlite3_destructor_type CSQLite_transient(void) { return SQLITE_TRANSIENT; }
#endif
