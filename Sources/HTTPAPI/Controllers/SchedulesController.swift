import Foundation
import Hummingbird
import JSON
import Runs
import TriggerProtocol

/// Schedules registered at run time (`io.registerInterval`, `io.registerCron`, `unregisterSchedule`)
/// and the environment's schedules.
struct SchedulesController {
    let deps: APIDependencies

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        let engine = deps.runs
        group.post(":client/schedules/:id/registrations") { request, context in
            let body = try await request.decode(RegisterScheduleBody.self, context: context, message: "Invalid request body")
            return try await engine.registerSchedule(environment: try context.requireEnvironment(), client: try context.parameters.require("client"),
                                                     dynamicScheduleId: try context.parameters.require("id"), key: body.key,
                                                     schedule: body.schedule, metadata: body.metadata)
        }
        group.delete(":client/schedules/:id/registrations/:key") { _, context in
            let key = try context.parameters.require("key")
            try await engine.unregisterSchedule(environment: try context.requireEnvironment(), client: try context.parameters.require("client"),
                                                dynamicScheduleId: try context.parameters.require("id"), key: key.removingPercentEncoding ?? key)
            return ["ok": true]
        }
        group.get("schedules") { _, context in
            try await engine.schedules(environment: try context.requireEnvironment())
        }
    }
}

extension ScheduleRegistration: ResponseEncodable {}
extension ScheduleSummary: ResponseEncodable {}
