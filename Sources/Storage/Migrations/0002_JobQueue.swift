// The durable job queue (graphile-worker semantics). Completed jobs are deleted; failed ones stay
// with `last_error` until they succeed or run out of attempts, and dead ones stay for inspection.
// `kongflow_job_queues` has a row per named queue that has jobs; it is locked while one of its jobs
// runs, which is what makes named queues serial across processes.

let m0002JobQueue = Migration(
    version: 2,
    name: "job_queue",
    up: """
        CREATE TABLE kongflow_jobs (
            id {SERIAL_PRIMARY_KEY},
            task_identifier TEXT NOT NULL CHECK (length(task_identifier) <= 128),
            queue_name TEXT CHECK (length(queue_name) <= 128),
            payload {JSON} NOT NULL,
            priority INTEGER NOT NULL,
            run_at {TIMESTAMP} NOT NULL,
            attempts INTEGER NOT NULL,
            max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
            last_error TEXT,
            key TEXT UNIQUE CHECK (length(key) <= 512),
            revision INTEGER NOT NULL,
            locked_at {TIMESTAMP},
            locked_by TEXT,
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL
        );
        CREATE INDEX kongflow_jobs_free_idx ON kongflow_jobs (priority, run_at, id) WHERE queue_name IS NULL AND locked_at IS NULL;
        CREATE INDEX kongflow_jobs_queue_idx ON kongflow_jobs (queue_name, priority, run_at, id) WHERE locked_at IS NULL;
        CREATE INDEX kongflow_jobs_locked_by_idx ON kongflow_jobs (locked_by) WHERE locked_by IS NOT NULL;
        CREATE TABLE kongflow_job_queues (
            queue_name TEXT PRIMARY KEY,
            job_count INTEGER NOT NULL CHECK (job_count >= 0),
            locked_at {TIMESTAMP},
            locked_by TEXT
        );
        CREATE TABLE kongflow_workers (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at {TIMESTAMP} NOT NULL,
            last_heartbeat_at {TIMESTAMP} NOT NULL
        );
        """,
    down: m0002Down
)

private let m0002Down = """
    DROP TABLE kongflow_workers;
    DROP TABLE kongflow_job_queues;
    DROP TABLE kongflow_jobs;
    """
