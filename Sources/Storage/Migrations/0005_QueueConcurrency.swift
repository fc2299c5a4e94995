// Named queues with a concurrency limit. A queue row carries its limit and how many of its jobs are
// running (the claim lock, widened from one slot to `max_concurrency`); it no longer counts its jobs.
// Rows are created by enqueues and removed by the rescuer once idle.

let m0005QueueConcurrency = Migration(
    version: 5,
    name: "queue_concurrency",
    up: """
        DROP TABLE kongflow_job_queues;
        CREATE TABLE kongflow_job_queues (
            queue_name TEXT PRIMARY KEY CHECK (length(queue_name) <= 128),
            max_concurrency INTEGER NOT NULL CHECK (max_concurrency >= 1),
            running INTEGER NOT NULL CHECK (running >= 0),
            updated_at {TIMESTAMP} NOT NULL
        );
        INSERT INTO kongflow_job_queues (queue_name, max_concurrency, running, updated_at)
        SELECT queue_name, 1, SUM(CASE WHEN locked_at IS NULL THEN 0 ELSE 1 END), MAX(updated_at)
        FROM kongflow_jobs WHERE queue_name IS NOT NULL GROUP BY queue_name;
        """,
    down: """
        DROP TABLE kongflow_job_queues;
        CREATE TABLE kongflow_job_queues (
            queue_name TEXT PRIMARY KEY,
            job_count INTEGER NOT NULL CHECK (job_count >= 0),
            locked_at {TIMESTAMP},
            locked_by TEXT
        );
        INSERT INTO kongflow_job_queues (queue_name, job_count, locked_at, locked_by)
        SELECT queue_name, COUNT(*), MAX(locked_at), MAX(locked_by)
        FROM kongflow_jobs WHERE queue_name IS NOT NULL GROUP BY queue_name;
        """
)
