import Foundation
import HTTPAPI
import Hummingbird
import JSON
import HummingbirdTesting
import Storage
import Tenancy
import Testing
import TestSupport

@Suite struct HealthAndAuthTests {
    @Test(arguments: [Backend.sqlite])
    func aKnownPathWithAnotherMethodIs405WithAllow(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { _, client in
            for (method, path, allow) in [(HTTPRequest.Method.trace, "/api/v1/endpoints", "GET, POST"), (.put, "/api/v1/endpoints/some-slug", "DELETE, GET"),
                                          (.delete, "/healthz", "GET"), (.patch, "/api/v1/endpoints/e/index", "POST")] {
                let response = try await client.call(method, path)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.json == ["error": "Method Not Allowed"])
            }
            let unknown = try await client.call(.get, "/api/v1/nothing-here")
            #expect(unknown.status == .notFound && unknown.json == ["error": "Not found"])
            let unauthenticated = try await client.call(.get, "/api/v1/endpoints/some-slug")
            #expect(unauthenticated.status == .unauthorized, "a route's own method still reaches it")
        }
    }

    @Test(arguments: Backend.available)
    func healthReadinessAndWhoAmI(_ backend: Backend) async throws {
        try await TestStack.run(backend, worker: false) { stack, client in
            let env = try await stack.tenancy.createEnvironment(organization: "Acme", project: "Web", type: .development)
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
                }
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer \(env.apiKey)"]) { response in
                    #expect(response.status == .ok)
                    let body = String(buffer: response.body)
                    #expect(body.contains(env.id.lowercasedString))
                    #expect(body.contains(#""slug":"acme""#))
                    #expect(!body.contains(env.apiKey))
                }
                for header in ["", "Bearer", "Bearer nope", "Basic abc", "Bearer \(env.pkApiKey)", "Bearer \(String(repeating: "a", count: 5000))"] {
                    var headers: HTTPFields = [:]
                    if !header.isEmpty { headers[.authorization] = header }
                    try await client.execute(uri: "/api/v1/whoami", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(header.prefix(30))")
                        #expect(String(buffer: response.body) == #"{"error":"Invalid or Missing API key"}"#)
                    }
                }
                try await client.execute(uri: "/no/such/route", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect(String(buffer: response.body) == #"{"error":"Not found"}"#)
                }
        }
    }

    @Test(arguments: Backend.available)
    func readinessReportsAnOutdatedSchema(_ backend: Backend) async throws {
        try await TestStack.run(backend, migrate: false, worker: false) { _, client in
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(String(buffer: response.body).contains("migrate up"))
                }
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
        }
    }

    @Test func errorsMapToStatusesInOnePlace() {
        let logger = TestDatabase.testLogger
        #expect(ErrorMapping.apiError(for: StorageError.unavailable("down"), logger: logger).status == .serviceUnavailable)
        #expect(ErrorMapping.apiError(for: StorageError.queryFailed("x"), logger: logger) == APIError(.internalServerError, "Something went wrong"))
        #expect(ErrorMapping.apiError(for: TenancyError.invalidName("bad"), logger: logger) == APIError(.badRequest, "bad"))
        #expect(ErrorMapping.apiError(for: HTTPError(.contentTooLarge), logger: logger).status == .contentTooLarge)
        struct Other: Error {}
        #expect(ErrorMapping.apiError(for: Other(), logger: logger) == APIError(.internalServerError, "Something went wrong"))
        #expect(ISODate.format(Date(timeIntervalSince1970: 1_687_960_800.5)) == "2023-06-28T14:00:00.500Z")
        #expect(ISODate.parse("2023-06-28T16:00:00.5+02:00") == Date(timeIntervalSince1970: 1_687_960_800.5))
        #expect(ISODate.parse("yesterday") == nil && ISODate.parse("2023-06-28T14:00:00") == nil)
    }
}
