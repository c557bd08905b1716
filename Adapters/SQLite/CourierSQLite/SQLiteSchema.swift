import Courier

/// The queue's tables, created and migrated by the adapter itself.
enum SQLiteSchema {
    /// The version this build writes. Opening a file with a newer version fails instead of guessing.
    static let currentVersion: Int64 = 4

    private static let migrations: [Int64: String] = [
        1: """
        CREATE TABLE courier_requests (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            payload BLOB NOT NULL,
            headers TEXT NOT NULL,
            created_at REAL NOT NULL,
            deadline REAL,
            deadline_exact REAL,
            attempt INTEGER NOT NULL,
            leased INTEGER NOT NULL DEFAULT 0,
            available_at REAL NOT NULL,
            lease_token INTEGER,
            lease_expires REAL,
            UNIQUE (queue, id)
        );
        CREATE INDEX courier_requests_ready ON courier_requests (queue, leased, available_at, seq);
        CREATE INDEX courier_requests_leases ON courier_requests (queue, leased, lease_expires);
        CREATE TABLE courier_responses (
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            status TEXT NOT NULL,
            payload BLOB NOT NULL,
            error TEXT,
            headers TEXT NOT NULL,
            finished_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (queue, id)
        );
        CREATE INDEX courier_responses_expiry ON courier_responses (expires_at);
        """,
        // Streamed events: one row per event, and one per log with its newest and trimmed sequence numbers.
        2: """
        CREATE TABLE courier_events (
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT,
            data BLOB,
            fraction REAL,
            counter INTEGER,
            created_at REAL NOT NULL,
            PRIMARY KEY (queue, id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE courier_event_logs (
            queue TEXT NOT NULL,
            id TEXT NOT NULL,
            last_seq INTEGER NOT NULL,
            trimmed_through INTEGER NOT NULL,
            token TEXT,
            PRIMARY KEY (queue, id)
        ) WITHOUT ROWID;
        """,
        // Status reports: when a request was submitted and its latest delivery started (kept with its response),
        // when its response was stored, and the newest progress of its log. Times are seconds since 1970.
        3: """
        ALTER TABLE courier_requests ADD COLUMN submitted_at REAL;
        ALTER TABLE courier_requests ADD COLUMN started_at REAL;
        ALTER TABLE courier_requests ADD COLUMN started_attempt INTEGER;
        ALTER TABLE courier_responses ADD COLUMN submitted_at REAL;
        ALTER TABLE courier_responses ADD COLUMN started_at REAL;
        ALTER TABLE courier_responses ADD COLUMN started_attempt INTEGER;
        ALTER TABLE courier_responses ADD COLUMN stored_at REAL;
        ALTER TABLE courier_event_logs ADD COLUMN updated_at REAL;
        ALTER TABLE courier_event_logs ADD COLUMN progress_attempt INTEGER;
        ALTER TABLE courier_event_logs ADD COLUMN progress_fraction REAL;
        ALTER TABLE courier_event_logs ADD COLUMN progress_message TEXT;
        ALTER TABLE courier_event_logs ADD COLUMN progress_counter INTEGER;
        """,
        // Counts and listings: requests and responses by submission, responses by status and expiry; and the
        // request's fingerprint, kept with its response.
        4: """
        ALTER TABLE courier_requests ADD COLUMN fingerprint TEXT;
        ALTER TABLE courier_responses ADD COLUMN fingerprint TEXT;
        CREATE INDEX courier_requests_submitted ON courier_requests (queue, submitted_at);
        CREATE INDEX courier_responses_submitted ON courier_responses (queue, submitted_at);
        CREATE INDEX courier_responses_status ON courier_responses (queue, status, expires_at);
        """,
    ]

    /// The tables and indexes Courier creates. (SQLite's own `sqlite_…` objects, such as `sqlite_sequence` for
    /// `AUTOINCREMENT`, come with them.)
    static let ownNames: Set<String> = [
        "courier_schema", "courier_requests", "courier_responses", "courier_requests_ready",
        "courier_requests_leases", "courier_responses_expiry", "courier_events", "courier_event_logs",
        "courier_requests_submitted", "courier_responses_submitted", "courier_responses_status",
    ]

    /// Refuses a file that holds another application's database: one with a table or view that is not Courier's.
    /// Only reads the schema, so it can run before the connection changes anything (such as the journal mode).
    /// An empty database (no tables at all) passes.
    /// - Throws: ``CourierError`` with code `invalidConfiguration` naming `path` and a few of the foreign tables;
    ///   ``SQLiteError`` when the schema cannot be read (for example, the file is not an SQLite database).
    static func checkNotForeign(_ connection: SQLiteConnection, path: String) throws {
        let foreign = try connection.query(
            """
            SELECT name FROM sqlite_master
            WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
            ORDER BY name
            """
        ).compactMap { $0.first?.text }.filter { !ownNames.contains($0) }
        guard !foreign.isEmpty else { return }
        let shown = foreign.prefix(3).joined(separator: ", ") + (foreign.count > 3 ? ", …" : "")
        throw CourierError(
            .invalidConfiguration,
            "'\(path)' holds another application's SQLite database (tables: \(shown)); Courier leaves it unchanged "
                + "and will not add its tables to it; give SQLITE_PATH a file of its own")
    }

    /// Checks, without writing, that the database already holds this version of Courier's schema (for a
    /// read-only open, which must not create or migrate anything).
    /// - Throws: ``CourierError`` with code `invalidConfiguration` when the tables are missing or need migrating,
    ///   or `storageFailure` for a file written by a newer Courier.
    static func verify(_ connection: SQLiteConnection, path: String) throws {
        let tables = Set(
            try connection.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap { $0.first?.text })
        guard tables.isSuperset(of: ["courier_schema", "courier_requests", "courier_responses"]) else {
            throw CourierError(
                .invalidConfiguration,
                "'\(path)' is not a Courier queue (it has no Courier tables), and a read-only open does not create them"
            )
        }
        let version = try connection.query("SELECT max(version) FROM courier_schema").first?.first?.integer ?? 0
        if version > currentVersion {
            throw CourierError(
                .storageFailure,
                "the database has schema version \(version), newer than this Courier's \(currentVersion)")
        }
        if version < currentVersion {
            throw CourierError(
                .invalidConfiguration,
                "'\(path)' has Courier schema version \(version), older than this Courier's \(currentVersion), and a "
                    + "read-only open does not migrate it; open it read-write once first")
        }
    }

    /// Creates or migrates the schema.
    /// - Throws: ``CourierError`` with code `storageFailure` for a file written by a newer Courier.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.immediateTransaction {
            try connection.execute("CREATE TABLE IF NOT EXISTS courier_schema (version INTEGER NOT NULL)")
            let version = try connection.query("SELECT max(version) FROM courier_schema").first?.first?.integer ?? 0
            if version > currentVersion {
                throw CourierError(
                    .storageFailure,
                    "the database has schema version \(version), newer than this Courier's \(currentVersion)")
            }
            for next in (version + 1)..<(currentVersion + 1) {
                try connection.execute(migrations[next]!)
                try connection.query("INSERT INTO courier_schema (version) VALUES (?)", [.integer(next)])
            }
        }
    }
}
