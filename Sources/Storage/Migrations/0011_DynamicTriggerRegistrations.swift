// Registrations of dynamic triggers (docs/spec/trigger-v2-runs.md §7.3): each `io.registerTrigger(key, …)`
// of a dynamic trigger owns one webhook source and the dispatcher that runs the trigger's jobs.

let m0011DynamicTriggerRegistrations = Migration(
    version: 11,
    name: "dynamic_trigger_registrations",
    up: """
        CREATE TABLE dynamic_trigger_registrations (
            id {UUID} PRIMARY KEY,
            key TEXT NOT NULL,
            dynamic_trigger_id {UUID} NOT NULL REFERENCES dynamic_triggers(id) ON DELETE CASCADE,
            source_id {UUID} NOT NULL REFERENCES trigger_sources(id) ON DELETE CASCADE,
            metadata {JSON},
            created_at {TIMESTAMP} NOT NULL,
            updated_at {TIMESTAMP} NOT NULL,
            UNIQUE (dynamic_trigger_id, key)
        );
        """,
    down: """
        DROP TABLE dynamic_trigger_registrations;
        """)
