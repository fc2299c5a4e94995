// Webhooks received for HTTP sources (docs/spec/trigger-v2-runs.md §7.2): stored when they arrive, so
// that none is lost while the endpoint is down, delivered to the endpoint from the queue, and kept
// with the SDK's answer (the response relayed to the webhook's sender).

let m0010HttpSourceRequests = Migration(
    version: 10,
    name: "http_source_requests",
    up: """
        CREATE TABLE http_source_requests (
            id {UUID} PRIMARY KEY,
            source_id {UUID} NOT NULL REFERENCES trigger_sources(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            method VARCHAR(10) NOT NULL,
            url TEXT NOT NULL,
            headers {JSON} NOT NULL,
            body TEXT,
            response {JSON},
            events INTEGER,
            delivered_at {TIMESTAMP},
            created_at {TIMESTAMP} NOT NULL
        );
        CREATE INDEX http_source_requests_source_idx ON http_source_requests (source_id, created_at);
        """,
    down: """
        DROP TABLE http_source_requests;
        """)
