// Running what is registered: events, runs, tasks and their attempts (docs/spec/trigger-v2-runs.md §4.1).
// An execution of a run is a queue job (`performRunExecution`), not a table: the run row carries
// what an execution needs to know (its count, the failures of the current one).

let m0006Runs = Migration(
    version: 6,
    name: "runs",
    up: """
        CREATE TABLE event_records (
            id {UUID} PRIMARY KEY,
            event_id TEXT NOT NULL CHECK (length(event_id) <= 256),
            name TEXT NOT NULL,
            source TEXT NOT NULL,
            timestamp {TIMESTAMP} NOT NULL,
            payload {JSON} NOT NULL,
            context {JSON} NOT NULL,
            source_context {JSON},
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            project_id {UUID} NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            deliver_at {TIMESTAMP} NOT NULL,
            delivered_at {TIMESTAMP},
            is_test BOOLEAN NOT NULL,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (environment_id, event_id)
        );
        CREATE INDEX event_records_environment_created_idx ON event_records (environment_id, created_at);
        CREATE TABLE job_run_counters (
            job_id {UUID} PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
            last_number INTEGER NOT NULL
        );
        CREATE TABLE job_runs (
            id {UUID} PRIMARY KEY,
            number INTEGER NOT NULL,
            job_id {UUID} NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            version_id {UUID} NOT NULL REFERENCES job_versions(id) ON DELETE CASCADE,
            event_id {UUID} NOT NULL REFERENCES event_records(id) ON DELETE CASCADE,
            endpoint_id {UUID} NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
            queue_id {UUID} NOT NULL REFERENCES job_queues(id),
            organization_id {UUID} NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            project_id {UUID} NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            environment_id {UUID} NOT NULL REFERENCES runtime_environments(id) ON DELETE CASCADE,
            status VARCHAR(24) NOT NULL CHECK (status IN ('PENDING', 'QUEUED', 'EXECUTING', 'WAITING_TO_CONTINUE', 'WAITING_TO_EXECUTE',
                                                          'SUCCESS', 'FAILURE', 'CANCELED', 'TIMED_OUT')),
            output {JSON},
            is_test BOOLEAN NOT NULL,
            execution_count INTEGER NOT NULL,
            execution_failures INTEGER NOT NULL,
            idempotency_key TEXT,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            queued_at {TIMESTAMP},
            started_at {TIMESTAMP},
            completed_at {TIMESTAMP},
            UNIQUE (job_id, number),
            UNIQUE (environment_id, idempotency_key)
        );
        CREATE INDEX job_runs_environment_created_idx ON job_runs (environment_id, created_at);
        CREATE INDEX job_runs_job_created_idx ON job_runs (job_id, created_at);
        CREATE INDEX job_runs_event_id_idx ON job_runs (event_id);
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            run_id {UUID} NOT NULL REFERENCES job_runs(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES tasks(id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            display_key TEXT,
            name TEXT NOT NULL,
            icon TEXT,
            status VARCHAR(10) NOT NULL CHECK (status IN ('PENDING', 'WAITING', 'RUNNING', 'COMPLETED', 'ERRORED', 'CANCELED')),
            noop BOOLEAN NOT NULL,
            delay_until {TIMESTAMP},
            description TEXT,
            properties {JSON},
            params {JSON},
            output {JSON},
            error TEXT,
            redact {JSON},
            style {JSON},
            operation TEXT,
            attempts INTEGER NOT NULL,
            started_at {TIMESTAMP},
            completed_at {TIMESTAMP},
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (run_id, idempotency_key)
        );
        CREATE INDEX tasks_parent_id_idx ON tasks (parent_id);
        CREATE TABLE task_attempts (
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            status VARCHAR(10) NOT NULL CHECK (status IN ('PENDING', 'STARTED', 'COMPLETED', 'ERRORED')),
            error TEXT,
            run_at {TIMESTAMP},
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            PRIMARY KEY (task_id, number)
        );
        """,
    down: """
        DROP TABLE task_attempts;
        DROP TABLE tasks;
        DROP TABLE job_runs;
        DROP TABLE job_run_counters;
        DROP TABLE event_records;
        """
)
