import Foundation
import Testing
import TestSupport

@Suite struct CLITests {
    struct EnvJSON: Decodable {
        let id: String, slug: String, type: String, apiKey: String, pkApiKey: String
        let projectId: String, organizationId: String
    }

    @Test(arguments: Backend.available)
    func migrateAndEnvironmentCommands(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let up = try await KongflowProcess.run(["migrate", "up", "--database-url", url])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("now at version"))
        let status = try await KongflowProcess.run(["migrate", "status", "--json", "--database-url", url])
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"applied\":true"))

        let created = try await KongflowProcess.run(["env", "create", "--organization", "Acme", "--project", "Web", "--type", "production", "--json", "--database-url", url])
        #expect(created.status == 0, "\(created.stderr)")
        let env = try JSONDecoder().decode(EnvJSON.self, from: Data(created.stdout.utf8))
        #expect(env.type == "PRODUCTION" && env.slug == "prod" && env.apiKey.hasPrefix("tr_prod_") && env.pkApiKey.hasPrefix("pk_prod_"))

        // The URL can come from the environment variable too.
        let listed = try await KongflowProcess.run(["env", "list", "--json"], environment: ["KONGFLOW_DATABASE_URL": url])
        let envs = try JSONDecoder().decode([EnvJSON].self, from: Data(listed.stdout.utf8))
        #expect(envs.map(\.id) == [env.id])

        #expect(env.id == env.id.lowercased() && env.projectId == env.projectId.lowercased() && env.organizationId == env.organizationId.lowercased())
        #expect(listed.stdout == listed.stdout.lowercased() || !UUIDText.uppercase(in: listed.stdout))
        // Ids are accepted in either case.
        let rotated = try await KongflowProcess.run(["env", "rotate-key", env.id.uppercased(), "--json", "--database-url", url])
        let after = try JSONDecoder().decode(EnvJSON.self, from: Data(rotated.stdout.utf8))
        #expect(after.id == env.id && after.apiKey != env.apiKey)
        let text = try await KongflowProcess.run(["env", "list", "--database-url", url])
        #expect(text.stdout.hasPrefix(env.id), "\(text.stdout)")

        let down = try await KongflowProcess.run(["migrate", "down", "--database-url", url])
        #expect(down.status == 0 && down.stdout.contains("now at version 0"))
        let pending = try await KongflowProcess.run(["migrate", "status", "--database-url", url])
        #expect(pending.stdout.contains("pending"))
    }

    /// A database nobody migrated: `env create` sets the schema up as `serve` does.
    @Test(arguments: Backend.available)
    func envCreateOnANewDatabaseMigratesIt(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let created = try await KongflowProcess.run(["env", "create", "--organization", "Acme", "--project", "Web", "--database-url", url])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(!UUIDText.uppercase(in: created.stdout) && created.stdout.contains("tr_dev_"))
    }

    @Test func badInputGetsOneClearErrorAndNonZeroExit() async throws {
        let cases: [([String], String)] = [
            (["migrate", "status", "--database-url", "mysql://x/y"], "Invalid database URL"),
            (["migrate", "status", "--database-url", "postgres://u:pw@127.0.0.1:1/x"], "Cannot connect to PostgreSQL at postgres://u:***@127.0.0.1:1/x"),
            (["migrate", "status", "--database-url", "sqlite:/proc/kongflow/db.sqlite"], "Cannot"),
            (["env", "create", "--organization", "A", "--project", "B", "--type", "qa", "--database-url", "sqlite:/tmp/unused.sqlite"], "Unknown environment type 'qa'"),
            (["env", "rotate-key", "not-a-uuid", "--database-url", "sqlite:/tmp/unused.sqlite"], "is not an environment id"),
            (["serve", "--log-level", "loud"], "Unknown log level"),
        ]
        for (arguments, expected) in cases {
            let result = try await KongflowProcess.run(arguments, timeout: .seconds(30))
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("pw@"), "password leaked: \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "crashed: \(result.stderr)")
        }
    }

    @Test(arguments: Backend.available)
    func serveBootstrapsServesAndShutsDownOnSIGTERM(_ backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let server = try KongflowProcess.start(["serve", "--port", "0", "--database-url", url])
        let port = try await server.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        let key = try await server.waitFor(#"API key \(shown once.*\): (tr_dev_[A-Za-z0-9]{20})"#)
        let health = try await HTTP.get("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200 && health.body == #"{"status":"ok"}"#)
        let ready = try await HTTP.get("http://127.0.0.1:\(port)/readyz")
        #expect(ready.status == 200)
        let whoami = try await HTTP.get("http://127.0.0.1:\(port)/api/v1/whoami", headers: ["Authorization": "Bearer \(key)"])
        #expect(whoami.status == 200 && whoami.body.contains(#""type":"DEVELOPMENT""#))
        #expect(await server.terminate() == 0)
        #expect(!(await server.stderr.text()).contains(key), "the API key must never reach the logs")

        // A second start on the same database does not create another environment or print a key.
        let again = try KongflowProcess.start(["serve", "--port", "0", "--database-url", url])
        _ = try await again.waitFor(#"address=http://127\.0\.0\.1:(\d+)"#)
        #expect(await again.terminate(signal: SIGINT) == 0)
        #expect(!(await again.stdout.text()).contains("API key"))
    }
}
