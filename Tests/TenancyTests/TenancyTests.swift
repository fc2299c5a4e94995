import Foundation
import Storage
import Tenancy
import Testing
import TestSupport

@Suite struct TenancyTests {
    @Test(arguments: Backend.available)
    func createsEnvironmentsWithTriggerStyleKeys(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let tenancy = TenancyService(database: db)
            let dev = try await tenancy.createEnvironment(organization: "Acme Inc", project: "Web App", type: .development)
            #expect(dev.type == .development && dev.slug == "dev")
            #expect(dev.apiKey.range(of: "^tr_dev_[0-9A-Za-z]{20}$", options: .regularExpression) != nil)
            #expect(dev.pkApiKey.range(of: "^pk_dev_[0-9A-Za-z]{20}$", options: .regularExpression) != nil)
            #expect(dev.organization.slug == "acme-inc" && dev.organization.title == "Acme Inc")
            #expect(dev.project.slug == "web-app" && dev.project.organizationId == dev.organization.id)

            // Same organization and project by slug; a new environment with its own keys.
            let prod = try await tenancy.createEnvironment(organization: "Acme Inc", project: "Web App", type: .production)
            #expect(prod.organization.id == dev.organization.id && prod.project.id == dev.project.id)
            #expect(prod.apiKey.hasPrefix("tr_prod_") && prod.apiKey != dev.apiKey)
            let staging = try await tenancy.createEnvironment(organization: "Acme Inc", project: "Other", type: .staging)
            #expect(staging.apiKey.hasPrefix("tr_stg_") && staging.project.id != dev.project.id)
            let preview = try await tenancy.createEnvironment(organization: "Beta", project: "Web App", type: .preview)
            #expect(preview.apiKey.hasPrefix("tr_prev_") && preview.organization.id != dev.organization.id)

            let all = try await tenancy.environments()
            #expect(Set(all.map(\.id)) == Set([dev.id, prod.id, staging.id, preview.id]))
            #expect(try await tenancy.environment(id: prod.id) == prod)
            #expect(try await tenancy.environment(id: UUID()) == nil)
            await #expect(throws: TenancyError.self) { try await tenancy.createEnvironment(organization: "!!!", project: "x", type: .development) }
        }
    }

    @Test(arguments: Backend.available)
    func authenticatesOnlyExactSecretKeys(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let tenancy = TenancyService(database: db)
            let a = try await tenancy.createEnvironment(organization: "A", project: "P", type: .development)
            let b = try await tenancy.createEnvironment(organization: "B", project: "P", type: .production)
            #expect(try await tenancy.authenticate(authorization: "Bearer \(a.apiKey)")?.id == a.id)
            #expect(try await tenancy.authenticate(authorization: "Bearer \(b.apiKey)")?.id == b.id)
            let rejected = [
                nil, "", "Bearer", "Bearer ", "bearer \(a.apiKey)", "Basic \(a.apiKey)", "Bearer  \(a.apiKey)",
                "Bearer \(a.pkApiKey)", "Bearer \(a.apiKey)x", "Bearer \(a.apiKey.dropLast())", "Bearer tr_dev_",
                "Bearer tr_dev_' OR 1=1 --", "Bearer \(String(repeating: "x", count: 10_000))", "Bearer tr_dev_abc\u{0}def",
            ]
            for header in rejected {
                #expect(try await tenancy.authenticate(authorization: header) == nil, "\(String(describing: header?.prefix(40)))")
            }
        }
    }

    @Test(arguments: Backend.available)
    func rotatingKeysRetiresTheOldOnes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let tenancy = TenancyService(database: db)
            let env = try await tenancy.createEnvironment(organization: "A", project: "P", type: .development)
            let rotated = try await tenancy.rotateKeys(environmentId: env.id)
            #expect(rotated.id == env.id && rotated.apiKey != env.apiKey && rotated.pkApiKey != env.pkApiKey)
            #expect(try await tenancy.authenticate(authorization: "Bearer \(env.apiKey)") == nil)
            #expect(try await tenancy.authenticate(authorization: "Bearer \(rotated.apiKey)")?.id == env.id)
            await #expect(throws: TenancyError.self) { try await tenancy.rotateKeys(environmentId: UUID()) }
        }
    }

    /// The API server's verified-key cache: a key rotated elsewhere is refused once its entry is
    /// older than the lifetime; rotated through the caching service, at once.
    @Test(arguments: Backend.available)
    func verifiedKeysBoundTheRevocationDelay(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let server = TenancyService(database: db, verifiedKeys: VerifiedKeys(lifetime: .milliseconds(300)))
            let elsewhere = TenancyService(database: db)
            let env = try await elsewhere.createEnvironment(organization: "A", project: "P", type: .development)
            #expect(try await server.authenticate(authorization: "Bearer \(env.apiKey)")?.id == env.id)
            let rotated = try await elsewhere.rotateKeys(environmentId: env.id)
            #expect(try await server.authenticate(authorization: "Bearer \(rotated.apiKey)")?.id == env.id)
            #expect(try await eventually(timeout: .seconds(10)) { try await server.authenticate(authorization: "Bearer \(env.apiKey)") == nil },
                    "the old key stops working within the lifetime")
            #expect(try await server.authenticate(authorization: "Bearer tr_dev_00000000000000000000") == nil)
            // Rotation through the caching service itself retires the old key at once.
            let again = try await server.rotateKeys(environmentId: env.id)
            #expect(try await server.authenticate(authorization: "Bearer \(rotated.apiKey)") == nil)
            #expect(try await server.authenticate(authorization: "Bearer \(again.apiKey)")?.id == env.id)
        }
    }

    @Test(arguments: Backend.available)
    func bootstrapsOnlyAnEmptyDatabase(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { (db: any Database) async throws -> Void in
            let tenancy = TenancyService(database: db)
            let created = try #require(try await tenancy.bootstrapIfEmpty())
            #expect(created.type == .development && created.organization.slug == "default")
            #expect(try await tenancy.bootstrapIfEmpty() == nil)
            #expect(try await tenancy.environments().count == 1)
        }
    }

    @Test func keyHelpers() {
        #expect(APIKeys.constantTimeEquals("abc", "abc"))
        #expect(!APIKeys.constantTimeEquals("abc", "abd"))
        #expect(!APIKeys.constantTimeEquals("abc", "abcd"))
        #expect(!APIKeys.constantTimeEquals("", "a"))
        #expect(APIKeys.digest("tr_dev_x") == APIKeys.digest("tr_dev_x") && APIKeys.digest("tr_dev_x").count == 64)
        #expect(APIKeys.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256, lower-case hex")
        #expect(TenancyRepository.slugify("  My  App! v2.0 ") == "-my-app-v2.0-")
        #expect(EnvironmentType(argument: "prod") == .production && EnvironmentType(argument: "Staging") == .staging)
        #expect(EnvironmentType(argument: "qa") == nil)
        var keys = Set<String>()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 { keys.insert(APIKeys.secretKey(for: .development, using: &rng)) }
        #expect(keys.count == 1000)
        #expect(keys.allSatisfy(APIKeys.looksLikeSecretKey))
        for key in ["tr_prod_Ab9", "tr_dev_" + String(repeating: "a", count: 64)] { #expect(APIKeys.looksLikeSecretKey(key), "\(key)") }
        for key in ["", "tr_dev_", "tr__abc", "pk_dev_abc", "tr_dev_abc_def", "tr_d3v_abc", "tr_dev_ab-c", "tr_dev_ab c",
                    "tr_dev_abé", "tr_dév_abc", "tr_dev_ab@", "tr_dev_ab[", "tr_dev_" + String(repeating: "a", count: 65)] {
            #expect(!APIKeys.looksLikeSecretKey(key), "\(key)")
        }
    }
}
