// The 2023-09-29 run protocol of SDK 2.3 (docs/spec/trigger-v2-runs.md §9): a run remembers the keys
// of its yielded executions (sent back in every later EXECUTE_JOB), and an endpoint its execution
// time budget, which shrinks when a serverless platform cuts an execution off.

let m0008LaterRunProtocol = Migration(
    version: 8,
    name: "later_run_protocol",
    up: """
        ALTER TABLE job_runs ADD COLUMN yielded_executions {JSON};
        ALTER TABLE endpoints ADD COLUMN run_chunk_execution_limit INTEGER NOT NULL DEFAULT 60000;
        """,
    down: """
        ALTER TABLE endpoints DROP COLUMN run_chunk_execution_limit;
        ALTER TABLE job_runs DROP COLUMN yielded_executions;
        """)
