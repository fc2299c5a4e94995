// Registration: what an endpoint declares, as trigger.dev's schema stores it (docs/spec/trigger-v2-endpoints.md §3.2), plus
// per-item registration results of each index. JSON columns are jsonb on PostgreSQL and text on
// SQLite (validated by the application, which writes only JSON it encoded itself).

let m0004Registration = Migration(
    version: 4,
    name: "registration",
    up: """
        CREATE TABLE integration_definitions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            instructions TEXT,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL
        );
        CREATE TABLE integrations (
            id {UUID} PRIMARY KEY,
            slug TEXT NOT NULL,
            title TEXT,
            auth_source VARCHAR(10) NOT NULL CHECK (auth_source IN ('HOSTED', 'LOCAL', 'RESOLVER')),
            connection_type VARCHAR(10) NOT NULL CHECK (connection_type IN ('EXTERNAL', 'DEVELOPER')),
            definition_id TEXT NOT NULL REFERENCES integration_definitions(id),
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (organization_id, slug)
        );
        CREATE TABLE jobs (
            id {UUID} PRIMARY KEY,
            slug TEXT NOT NULL,
            title TEXT NOT NULL,
            internal BOOLEAN NOT NULL,
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            project_id {UUID} NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (project_id, slug)
        );
        CREATE TABLE job_queues (
            id {UUID} PRIMARY KEY,
            name TEXT NOT NULL,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            max_jobs INTEGER NOT NULL,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (environment_id, name)
        );
        CREATE TABLE job_versions (
            id {UUID} PRIMARY KEY,
            version TEXT NOT NULL,
            event_specification {JSON} NOT NULL,
            trigger {JSON} NOT NULL,
            properties {JSON},
            job_id {UUID} NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            endpoint_id {UUID} NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            project_id {UUID} NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            queue_id {UUID} NOT NULL REFERENCES job_queues(id),
            start_position VARCHAR(10) NOT NULL CHECK (start_position IN ('INITIAL', 'LATEST')),
            preprocess_runs BOOLEAN NOT NULL,
            status VARCHAR(10) NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (job_id, version, environment_id)
        );
        CREATE INDEX job_versions_endpoint_id_idx ON job_versions (endpoint_id);
        CREATE INDEX job_versions_environment_id_idx ON job_versions (environment_id);
        CREATE TABLE event_examples (
            id {UUID} PRIMARY KEY,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            icon TEXT,
            payload {JSON},
            job_version_id {UUID} NOT NULL REFERENCES job_versions(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (slug, job_version_id)
        );
        CREATE TABLE job_aliases (
            id {UUID} PRIMARY KEY,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            version_id {UUID} NOT NULL REFERENCES job_versions(id) ON DELETE CASCADE,
            job_id {UUID} NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (job_id, environment_id, name)
        );
        CREATE TABLE job_integrations (
            id {UUID} PRIMARY KEY,
            key TEXT NOT NULL,
            version_id {UUID} NOT NULL REFERENCES job_versions(id) ON DELETE CASCADE,
            job_id {UUID} NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            integration_id {UUID} NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (version_id, key)
        );
        CREATE TABLE event_dispatchers (
            id {UUID} PRIMARY KEY,
            event {JSON} NOT NULL,
            source TEXT NOT NULL,
            payload_filter {JSON},
            context_filter {JSON},
            manual BOOLEAN NOT NULL,
            dispatchable_id TEXT NOT NULL,
            dispatchable {JSON} NOT NULL,
            enabled BOOLEAN NOT NULL,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (dispatchable_id, environment_id)
        );
        CREATE TABLE dynamic_triggers (
            id {UUID} PRIMARY KEY,
            slug TEXT NOT NULL,
            type VARCHAR(10) NOT NULL CHECK (type IN ('EVENT', 'SCHEDULE')),
            endpoint_id {UUID} NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (endpoint_id, slug, type)
        );
        CREATE TABLE dynamic_trigger_jobs (
            dynamic_trigger_id {UUID} NOT NULL REFERENCES dynamic_triggers(id) ON DELETE CASCADE,
            job_id {UUID} NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            PRIMARY KEY (dynamic_trigger_id, job_id)
        );
        CREATE INDEX dynamic_trigger_jobs_job_id_idx ON dynamic_trigger_jobs (job_id);
        CREATE TABLE secret_references (
            id {UUID} PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            provider VARCHAR(20) NOT NULL CHECK (provider IN ('DATABASE', 'AWS_PARAM_STORE')),
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL
        );
        CREATE TABLE secret_store (
            key TEXT PRIMARY KEY,
            value {JSON} NOT NULL,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL
        );
        CREATE TABLE trigger_sources (
            id {UUID} PRIMARY KEY,
            key TEXT NOT NULL,
            version TEXT,
            params {JSON},
            options {JSON},
            channel VARCHAR(10) NOT NULL CHECK (channel IN ('HTTP', 'SQS', 'SMTP')),
            channel_data {JSON},
            secret_reference_id {UUID} NOT NULL REFERENCES secret_references(id),
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            endpoint_id {UUID} NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
            project_id {UUID} NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            integration_id {UUID} NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
            dynamic_trigger_id {UUID} REFERENCES dynamic_triggers(id) ON DELETE CASCADE,
            active BOOLEAN NOT NULL,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (key, environment_id)
        );
        CREATE TABLE trigger_source_events (
            id {UUID} PRIMARY KEY,
            name TEXT NOT NULL,
            source_id {UUID} NOT NULL REFERENCES trigger_sources(id) ON DELETE CASCADE,
            registered BOOLEAN NOT NULL,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (name, source_id)
        );
        CREATE TABLE schedule_sources (
            id {UUID} PRIMARY KEY,
            key TEXT NOT NULL,
            schedule {JSON} NOT NULL,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            dispatcher_id {UUID} NOT NULL REFERENCES event_dispatchers(id) ON DELETE CASCADE,
            next_run_at {TIMESTAMP},
            last_event_timestamp {TIMESTAMP},
            active BOOLEAN NOT NULL,
            metadata {JSON},
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (key, environment_id)
        );
        CREATE TABLE endpoint_index_registrations (
            index_id {UUID} NOT NULL REFERENCES endpoint_indexes(id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL CHECK (kind IN ('JOB', 'SOURCE', 'DYNAMIC_TRIGGER', 'DYNAMIC_SCHEDULE')),
            item_key TEXT NOT NULL,
            status VARCHAR(10) NOT NULL CHECK (status IN ('REGISTERED', 'FAILED')),
            error TEXT,
            updated_at {TIMESTAMP} NOT NULL,
            PRIMARY KEY (index_id, kind, item_key)
        );
        """,
    down: m0004Down
)

private let m0004Down = """
    DROP TABLE endpoint_index_registrations;
    DROP TABLE schedule_sources;
    DROP TABLE trigger_source_events;
    DROP TABLE trigger_sources;
    DROP TABLE secret_store;
    DROP TABLE secret_references;
    DROP TABLE dynamic_trigger_jobs;
    DROP TABLE dynamic_triggers;
    DROP TABLE event_dispatchers;
    DROP TABLE job_integrations;
    DROP TABLE job_aliases;
    DROP TABLE event_examples;
    DROP TABLE job_versions;
    DROP TABLE job_queues;
    DROP TABLE jobs;
    DROP TABLE integrations;
    DROP TABLE integration_definitions;
    """
