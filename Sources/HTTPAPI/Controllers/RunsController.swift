import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Runs
import TriggerProtocol

/// The run API: what the SDK calls while a job runs (events, tasks), and reading and driving runs.
struct RunsController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let engine = deps.runs
        let limit = deps.runs.configuration.maximumPayloadBytes + 64 * 1024

        group.post("events") { request, context in
            let body = try await request.decode(SendEventBody.self, context: context, message: "Invalid request body", limit: limit)
            return ApiEventLog(try await engine.ingest(body, environment: try context.requireEnvironment()))
        }

        group.post("runs/:runId/tasks") { request, context in
            let environment = try context.requireEnvironment()
            let runId = try Self.runId(context)
            guard let key = request.headers[HTTPField.Name("idempotency-key")!], !key.isEmpty else {
                throw APIError(.badRequest, "Invalid or Missing idempotency key")
            }
            let body = try await request.decode(RunTaskBody.self, context: context, message: "Invalid request body", limit: limit)
            let task = try await engine.runTask(runId: runId, idempotencyKey: key, body: body, environment: environment)
            // SDK 2.3 asks for the 2023-09-29 answer, and for the next page of cached tasks when the
            // EXECUTE_JOB body could not carry them all.
            guard request.headers[HTTPField.Name("trigger-version")!] == RunProtocol.lazyCachedTasksVersion else {
                return AnyTaskResponse.bare(ServerTaskResponse(task))
            }
            var page: (tasks: [CachedTask], cursor: String?)? = nil
            if let cursor = request.headers[HTTPField.Name("x-cached-tasks-cursor")!], !cursor.isEmpty {
                page = try await engine.cachedTasksPage(runId: runId, cursor: cursor, environment: environment)
            }
            return AnyTaskResponse.versioned(VersionedServerTaskResponse(task, cachedTasks: page))
        }

        group.post("runs/:runId/tasks/:taskId/complete") { request, context in
            let environment = try context.requireEnvironment()
            let runId = try Self.runId(context), taskId = try context.parameters.require("taskId")
            let body: CompleteTaskBody
            do {
                body = try await request.decode(CompleteTaskBody.self, context: context, message: "Invalid request body", limit: limit)
            } catch let error as APIError where error.status == .contentTooLarge {
                // The output cannot be stored: the task fails with a message that says so.
                return ServerTaskResponse(try await engine.failTask(runId: runId, taskId: taskId, error: ErrorWithStack(
                    message: "Task output is too large: the limit is \(engine.configuration.maximumPayloadBytes) bytes"), environment: environment))
            }
            var output = body.output
            // SDK 2.3's `completeTask` (trigger-version 2023-11-01) sends the output as JSON text.
            if request.headers[HTTPField.Name("trigger-version")!] == "2023-11-01", case .string(let text)? = output {
                guard let parsed = try? JSONValue.parse(text) else { throw APIError(.badRequest, "Invalid request body: output is not JSON text") }
                output = parsed
            }
            return ServerTaskResponse(try await engine.completeTask(runId: runId, taskId: taskId, output: output, environment: environment))
        }

        group.post("runs/:runId/tasks/:taskId/fail") { request, context in
            let environment = try context.requireEnvironment()
            let body = try await request.decode(FailTaskBody.self, context: context, message: "Invalid request body", limit: limit)
            return ServerTaskResponse(try await engine.failTask(runId: try Self.runId(context), taskId: try context.parameters.require("taskId"),
                                                                error: body.error, environment: environment))
        }

        group.post("runs/:runId/cancel") { _, context in
            RunResponse(try await engine.cancel(runId: try Self.runId(context), environment: try context.requireEnvironment()))
        }

        group.get("runs") { request, context in
            let query = request.uri.queryParameters
            return try await Self.page(engine, context: context, job: query.get("job"), status: query.get("status"),
                                       limit: query.get("limit", as: Int.self), cursor: query.get("cursor"))
        }

        group.get("jobs/:jobSlug/runs") { request, context in
            let query = request.uri.queryParameters
            return try await Self.page(engine, context: context, job: try context.parameters.require("jobSlug"), status: query.get("status"),
                                       limit: query.get("take", as: Int.self) ?? query.get("limit", as: Int.self), cursor: query.get("cursor"))
        }

        group.post("jobs/:jobSlug/invoke") { request, context in
            let body = try await request.decode(InvokeJobBody.self, context: context, message: "Invalid request body", required: false, limit: limit)
            let run = try await engine.invoke(jobSlug: try context.parameters.require("jobSlug"), body: body,
                                              idempotencyKey: request.headers[HTTPField.Name("idempotency-key")!],
                                              environment: try context.requireEnvironment())
            return RunResponse(run)
        }
    }

    /// Later v2's read routes, which the SDK's `getRun` and `getEvent` call.
    func addV2Routes(to group: RouterGroup<APIRequestContext>) {
        let engine = deps.runs
        group.get("runs/:runId") { _, context in
            let run = try await engine.run(id: try Self.runId(context), environment: try context.requireEnvironment())
            return RunResponse(run, eventId: try await engine.event(of: run)?.eventId, tasks: try await engine.tasks(runId: run.id))
        }
        group.get("events/:eventId") { _, context in
            let (event, runs) = try await engine.event(environment: try context.requireEnvironment(), eventId: try context.parameters.require("eventId"))
            return EventResponse(event, runs: runs)
        }
    }

    /// A run id from the path; one that is not a UUID is a run that does not exist.
    static func runId(_ context: APIRequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("runId")) else { throw APIError(.notFound, "Run not found") }
        return id
    }

    static func page(_ engine: RunEngine, context: APIRequestContext, job: String?, status: String?, limit: Int?, cursor: String?) async throws -> RunPageResponse {
        let status = try status.map { text -> RunStatus in
            guard let status = RunStatus(rawValue: text.uppercased()) else {
                throw APIError(.badRequest, "Invalid status \(text): use \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        let before = try cursor.map { text -> UUID in
            guard let id = UUID(uuidString: text) else { throw APIError(.badRequest, "Invalid cursor") }
            return id
        }
        let size = min(max(limit ?? 20, 1), 100)
        let runs = try await engine.runs(environment: try context.requireEnvironment(), jobSlug: job, status: status, limit: size, before: before)
        return RunPageResponse(runs: runs.map { RunResponse($0) }, nextCursor: runs.count == size ? .string(runs.last!.id.lowercasedString) : .null)
    }
}
