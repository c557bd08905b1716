#ifndef COURIER_CSQLITE_SHIM_H
#define COURIER_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
