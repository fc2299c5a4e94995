import Hummingbird
import Registration
import TriggerProtocol

/// What the environment's endpoints have declared.
struct JobRoutes {
    let deps: APIDependencies

    func register(on router: Router<BasicRequestContext>) {
        let reader = RegisteredJobs(database: deps.database)
        router.get("/api/v1/jobs") { request, _ in
            let environment = try await authenticate(request, deps)
            return try JSONResponse.encode(JSONValue.array(try await reader.list(environmentId: environment.id)))
        }
        router.get("/api/v1/jobs/:jobSlug") { request, context in
            let environment = try await authenticate(request, deps)
            guard let job = try await reader.detail(environmentId: environment.id, slug: try context.parameters.require("jobSlug")) else {
                throw APIError(.notFound, "Job not found")
            }
            return try JSONResponse.encode(job)
        }
    }
}
