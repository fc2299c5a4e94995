// At most one PENDING index per endpoint, as a constraint. Coalescing relied on a lock of the endpoint
// row, so concurrent registrations of one slug queued on that row; with the constraint they insert
// with ON CONFLICT and only wait for the one insert they race with. The UPDATE is defensive: the lock
// kept this invariant already, but a migration that fails at start-up must not be the way to find out.
// (endpoint_id, created_at, id) serves "an endpoint's latest index" (the endpoint list, the index
// interval) from the index instead of sorting all of an endpoint's indexes; it replaces (endpoint_id).

let m0014OnePendingIndex = Migration(
    version: 14,
    name: "one_pending_index",
    up: """
        UPDATE endpoint_indexes SET status = 'FAILURE', error = '{"message":"Superseded by a newer index of the endpoint"}'
        WHERE status = 'PENDING' AND EXISTS (
            SELECT 1 FROM endpoint_indexes n
            WHERE n.endpoint_id = endpoint_indexes.endpoint_id AND n.status = 'PENDING'
              AND (n.created_at > endpoint_indexes.created_at OR (n.created_at = endpoint_indexes.created_at AND n.id > endpoint_indexes.id)));
        CREATE UNIQUE INDEX endpoint_indexes_one_pending_idx ON endpoint_indexes (endpoint_id) WHERE status = 'PENDING';
        CREATE INDEX endpoint_indexes_endpoint_created_idx ON endpoint_indexes (endpoint_id, created_at, id);
        DROP INDEX endpoint_indexes_endpoint_id_idx;
        """,
    down: """
        CREATE INDEX endpoint_indexes_endpoint_id_idx ON endpoint_indexes (endpoint_id);
        DROP INDEX endpoint_indexes_endpoint_created_idx;
        DROP INDEX endpoint_indexes_one_pending_idx;
        """)
