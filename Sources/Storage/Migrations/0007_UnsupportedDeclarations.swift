// SDK 2.3's webhooks and HTTP endpoints are recorded on the index as items that were not registered
// (so the user is told), which needs two more kinds in `endpoint_index_registrations`. SQLite cannot
// change a CHECK in place, so the table is rebuilt on both backends.

let m0007UnsupportedDeclarations = Migration(
    version: 7,
    name: "unsupported_declarations",
    up: """
        CREATE TABLE endpoint_index_registrations_next (
            index_id {UUID} NOT NULL REFERENCES endpoint_indexes(id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL CHECK (kind IN ('JOB', 'SOURCE', 'DYNAMIC_TRIGGER', 'DYNAMIC_SCHEDULE', 'WEBHOOK', 'HTTP_ENDPOINT')),
            item_key TEXT NOT NULL,
            status VARCHAR(12) NOT NULL CHECK (status IN ('REGISTERED', 'FAILED', 'UNSUPPORTED')),
            error TEXT,
            updated_at {TIMESTAMP} NOT NULL,
            PRIMARY KEY (index_id, kind, item_key)
        );
        INSERT INTO endpoint_index_registrations_next (index_id, kind, item_key, status, error, updated_at)
        SELECT index_id, kind, item_key, status, error, updated_at FROM endpoint_index_registrations;
        DROP TABLE endpoint_index_registrations;
        ALTER TABLE endpoint_index_registrations_next RENAME TO endpoint_index_registrations;
        """,
    down: """
        CREATE TABLE endpoint_index_registrations_previous (
            index_id {UUID} NOT NULL REFERENCES endpoint_indexes(id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL CHECK (kind IN ('JOB', 'SOURCE', 'DYNAMIC_TRIGGER', 'DYNAMIC_SCHEDULE')),
            item_key TEXT NOT NULL,
            status VARCHAR(10) NOT NULL CHECK (status IN ('REGISTERED', 'FAILED')),
            error TEXT,
            updated_at {TIMESTAMP} NOT NULL,
            PRIMARY KEY (index_id, kind, item_key)
        );
        INSERT INTO endpoint_index_registrations_previous (index_id, kind, item_key, status, error, updated_at)
        SELECT index_id, kind, item_key, status, error, updated_at FROM endpoint_index_registrations WHERE kind NOT IN ('WEBHOOK', 'HTTP_ENDPOINT');
        DROP TABLE endpoint_index_registrations;
        ALTER TABLE endpoint_index_registrations_previous RENAME TO endpoint_index_registrations;
        """
)
