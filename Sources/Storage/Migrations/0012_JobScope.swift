// The environment a queued job works for, so an environment's dashboard shows (and retries) its own
// jobs only. Nullable: jobs that serve no single environment, and jobs queued before this version.

let m0012JobScope = Migration(
    version: 12,
    name: "job_scope",
    up: """
        ALTER TABLE kongflow_jobs ADD COLUMN scope TEXT CHECK (length(scope) <= 64);
        CREATE INDEX kongflow_jobs_scope_idx ON kongflow_jobs (scope, id) WHERE scope IS NOT NULL;
        """,
    down: """
        DROP INDEX kongflow_jobs_scope_idx;
        ALTER TABLE kongflow_jobs DROP COLUMN scope;
        """)
