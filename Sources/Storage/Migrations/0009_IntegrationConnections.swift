// Integrations an environment connects to (issue: integrations): the organization's `integrations`
// row (HOSTED, by slug) gets one connection per environment holding its credentials, sealed by the
// server's encryption key (`secret`: token and additional fields; never stored in clear).

let m0009IntegrationConnections = Migration(
    version: 9,
    name: "integration_connections",
    up: """
        CREATE TABLE integration_connections (
            id {UUID} PRIMARY KEY,
            integration_id {UUID} NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            auth_type VARCHAR(10) NOT NULL CHECK (auth_type IN ('oauth2', 'apiKey')),
            secret TEXT NOT NULL,
            scopes {JSON},
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (integration_id, environment_id)
        );
        CREATE INDEX integration_connections_environment_idx ON integration_connections (environment_id);
        """,
    down: """
        DROP TABLE integration_connections;
        """)
