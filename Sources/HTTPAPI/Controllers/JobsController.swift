import Hummingbird
import JSON
import Registration

/// What the environment's endpoints have declared.
struct JobsController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let reader = RegisteredJobs(database: deps.database)
        group.get("jobs") { _, context in
            JSONValue.array(try await reader.list(environmentId: try context.requireEnvironment().id))
        }
        group.get("jobs/:jobSlug") { _, context in
            guard let job = try await reader.detail(environmentId: try context.requireEnvironment().id, slug: try context.parameters.require("jobSlug")) else {
                throw APIError(.notFound, "Job not found")
            }
            return job
        }
    }
}

extension JSONValue: ResponseEncodable {}
