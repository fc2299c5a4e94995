// One-time sign-in links for the dashboard (`kongflow dashboard-link`): only the token's digest is
// stored; a link expires and works once.

let m0013DashboardLoginLinks = Migration(
    version: 13,
    name: "dashboard_login_links",
    up: """
        CREATE TABLE dashboard_login_links (
            token_digest TEXT PRIMARY KEY,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            expires_at {TIMESTAMP} NOT NULL,
            used_at {TIMESTAMP},
            created_at {TIMESTAMP} NOT NULL
        );
        CREATE INDEX dashboard_login_links_expires_idx ON dashboard_login_links (expires_at);
        """,
    down: """
        DROP TABLE dashboard_login_links;
        """)
