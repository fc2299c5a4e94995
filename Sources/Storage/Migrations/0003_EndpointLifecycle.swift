// Soft deletion of endpoints (their index history stays), and the SDK versions they report.

let m0003EndpointLifecycle = Migration(
    version: 3,
    name: "endpoint_lifecycle",
    up: """
        ALTER TABLE endpoints ADD COLUMN deleted_at {TIMESTAMP};
        ALTER TABLE endpoints ADD COLUMN version TEXT NOT NULL DEFAULT 'unknown';
        ALTER TABLE endpoints ADD COLUMN sdk_version TEXT NOT NULL DEFAULT 'unknown';
        CREATE INDEX endpoint_indexes_endpoint_status_idx ON endpoint_indexes (endpoint_id, status);
        """,
    down: """
        DROP INDEX endpoint_indexes_endpoint_status_idx;
        ALTER TABLE endpoints DROP COLUMN sdk_version;
        ALTER TABLE endpoints DROP COLUMN version;
        ALTER TABLE endpoints DROP COLUMN deleted_at;
        """
)
