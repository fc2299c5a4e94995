// The durable job queue (graphile-worker semantics). Completed jobs are deleted; failed ones stay
// with `last_error` until they succeed or run out of attempts, and dead ones stay for inspection.
// `kongflow_job_queues` has a row per named queue that has jobs; it is locked while one of its jobs
// runs, which is what makes named queues serial across processes.

let m0002JobQueue = Migration(
    version: 2,
    name: "job_queue",
    up: [
        .postgres: """
            CREATE TABLE kongflow_jobs (
                id BIGSERIAL PRIMARY KEY,
                task_identifier TEXT NOT NULL CHECK (length(task_identifier) <= 128),
                queue_name TEXT CHECK (length(queue_name) <= 128),
                payload JSONB NOT NULL,
                priority INTEGER NOT NULL,
                run_at TIMESTAMPTZ NOT NULL,
                attempts INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                last_error TEXT,
                key TEXT UNIQUE CHECK (length(key) <= 512),
                revision INTEGER NOT NULL,
                locked_at TIMESTAMPTZ,
                locked_by TEXT,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL
            );
            CREATE INDEX kongflow_jobs_free_idx ON kongflow_jobs (priority, run_at, id) WHERE queue_name IS NULL AND locked_at IS NULL;
            CREATE INDEX kongflow_jobs_queue_idx ON kongflow_jobs (queue_name, priority, run_at, id) WHERE locked_at IS NULL;
            CREATE INDEX kongflow_jobs_locked_by_idx ON kongflow_jobs (locked_by) WHERE locked_by IS NOT NULL;
            CREATE TABLE kongflow_job_queues (
                queue_name TEXT PRIMARY KEY,
                job_count INTEGER NOT NULL CHECK (job_count >= 0),
                locked_at TIMESTAMPTZ,
                locked_by TEXT
            );
            CREATE TABLE kongflow_workers (
                id TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                last_heartbeat_at TIMESTAMPTZ NOT NULL
            );
            """,
        .sqlite: """
            CREATE TABLE kongflow_jobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                task_identifier TEXT NOT NULL CHECK (length(task_identifier) <= 128),
                queue_name TEXT CHECK (length(queue_name) <= 128),
                payload TEXT NOT NULL CHECK (json_valid(payload)),
                priority INTEGER NOT NULL,
                run_at TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                last_error TEXT,
                key TEXT UNIQUE CHECK (length(key) <= 512),
                revision INTEGER NOT NULL,
                locked_at TEXT,
                locked_by TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE INDEX kongflow_jobs_free_idx ON kongflow_jobs (priority, run_at, id) WHERE queue_name IS NULL AND locked_at IS NULL;
            CREATE INDEX kongflow_jobs_queue_idx ON kongflow_jobs (queue_name, priority, run_at, id) WHERE locked_at IS NULL;
            CREATE INDEX kongflow_jobs_locked_by_idx ON kongflow_jobs (locked_by) WHERE locked_by IS NOT NULL;
            CREATE TABLE kongflow_job_queues (
                queue_name TEXT PRIMARY KEY,
                job_count INTEGER NOT NULL CHECK (job_count >= 0),
                locked_at TEXT,
                locked_by TEXT
            );
            CREATE TABLE kongflow_workers (
                id TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started_at TEXT NOT NULL,
                last_heartbeat_at TEXT NOT NULL
            );
            """,
    ],
    down: [.postgres: m0002Down, .sqlite: m0002Down]
)

private let m0002Down = """
    DROP TABLE kongflow_workers;
    DROP TABLE kongflow_job_queues;
    DROP TABLE kongflow_jobs;
    """
