// The claim's indexes hold runnable jobs only. Jobs out of attempts stay for inspection with
// `locked_at` NULL and the `run_at` of a retry that never comes (past within seconds), so they stayed
// in both partial indexes, mostly ahead of the runnable jobs, and every claim read past each of them to
// check its attempts: 2.8–5 ms a claim with 20,000 such jobs on PostgreSQL, for as long as they were kept. The claims already filter on `attempts < max_attempts`, so the
// planners use these indexes as before.

let m0015RunnableJobIndexes = Migration(
    version: 15,
    name: "runnable_job_indexes",
    up: """
        DROP INDEX kongflow_jobs_free_idx;
        CREATE INDEX kongflow_jobs_free_idx ON kongflow_jobs (priority, run_at, id)
            WHERE queue_name IS NULL AND locked_at IS NULL AND attempts < max_attempts;
        DROP INDEX kongflow_jobs_queue_idx;
        CREATE INDEX kongflow_jobs_queue_idx ON kongflow_jobs (queue_name, priority, run_at, id)
            WHERE locked_at IS NULL AND attempts < max_attempts;
        """,
    down: """
        DROP INDEX kongflow_jobs_free_idx;
        CREATE INDEX kongflow_jobs_free_idx ON kongflow_jobs (priority, run_at, id) WHERE queue_name IS NULL AND locked_at IS NULL;
        DROP INDEX kongflow_jobs_queue_idx;
        CREATE INDEX kongflow_jobs_queue_idx ON kongflow_jobs (queue_name, priority, run_at, id) WHERE locked_at IS NULL;
        """)
