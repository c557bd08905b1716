import Courier

/// The queue's tables, created and migrated by the adapter itself.
enum SQLiteSchema {
    /// The version this build writes. Opening a file with a newer version fails instead of guessing.
    static let currentVersion: Int64 = 1

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
        """
    ]

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
