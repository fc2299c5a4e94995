import AsyncHTTPClient
import Crypto
import Foundation
import JSON
import NIOCore
import NIOHTTP1

/// The SDK's `io` for the example jobs: each call is a task on the server, made idempotent by the
/// SDK's key (`sha256(runId:parentId:key…)`), so a replayed execution skips what was done.
public struct IO: Sendable {
    let apiURL: String
    let apiKey: String
    let runId: String
    let parentId: String?
    /// The endpoint's id (the SDK's client id), for the routes named after it.
    let clientId: String

    /// Thrown to end the execution at a task that must wait (`RESUME_WITH_TASK`).
    struct Resume: Error { let task: JSONValue }
    /// A task the server reports as ERRORED.
    struct TaskErrored: Error, CustomStringConvertible { let description: String }

    public func log(_ message: String, level: String = "INFO") async throws {
        _ = try await createTask(key: [message, level], body: [
            "name": "log", "icon": "log", "description": .string(message), "noop": true,
            "properties": [["label": "Level", "text": .string(level)]], "style": ["style": "minimal", "variant": .string(level.lowercased())],
        ])
    }

    /// `io.wait`: ends this execution until `seconds` have passed; the replay after it goes on.
    public func wait(_ key: String, seconds: Double) async throws {
        let until = Date().addingTimeInterval(seconds)
        let task = try await createTask(key: [key], body: [
            "name": "wait", "icon": "clock", "noop": true, "displayKey": .string(key),
            "params": ["seconds": .number(seconds)], "delayUntil": .string(ISODate.format(until)), "style": ["style": "minimal"],
        ])
        if task["status"] == "WAITING" { throw Resume(task: task) }
    }

    /// `io.runTask`: runs `body` once; a replay gets the stored output without running it again.
    public func runTask(_ key: String, name: String, _ body: @Sendable (IO) async throws -> JSONValue) async throws -> JSONValue {
        let task = try await createTask(key: [key], body: ["name": .string(name), "noop": false, "displayKey": .string(key)])
        switch task["status"]?.stringValue {
        case "COMPLETED": return task["output"] ?? .null
        case "ERRORED": throw TaskErrored(description: task["error"]?.stringValue ?? "Task errored")
        case "WAITING": throw Resume(task: task)
        default: break
        }
        let id = task["id"]?.stringValue ?? ""
        let child = IO(apiURL: apiURL, apiKey: apiKey, runId: runId, parentId: id, clientId: clientId)
        do {
            let output = try await body(child)
            _ = try await call("/api/v1/runs/\(runId)/tasks/\(id)/complete", body: ["output": output])
            return output
        } catch let resume as Resume {
            throw resume
        } catch {
            _ = try? await call("/api/v1/runs/\(runId)/tasks/\(id)/fail", body: ["error": ["message": .string("\(error)"), "name": "Error"]])
            throw error
        }
    }

    func createTask(key: [String], body: JSONValue) async throws -> JSONValue {
        let idempotencyKey = Self.idempotencyKey(runId: runId, parentId: parentId, key: key)
        guard case .object(var object) = body else { return .null }
        object["idempotencyKey"] = .string(idempotencyKey)
        if let parentId { object["parentId"] = .string(parentId) }
        return try await call("/api/v1/runs/\(runId)/tasks", body: .object(object), idempotencyKey: idempotencyKey)
    }

    static func idempotencyKey(runId: String, parentId: String?, key: [String]) -> String {
        let material = ([runId, parentId ?? ""] + key).joined(separator: ":")
        return SHA256.hash(data: Data(material.utf8)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// A call as the SDK's `zodfetch` makes it: exactly 200 is success, a 4xx carries `{error}`.
    /// `io.updateSource`: the source's webhook is registered with these events (and secret).
    public func updateSource(key: String, registeredEvents: [String], secret: String?) async throws -> JSONValue {
        var body: [String: JSONValue] = ["registeredEvents": .array(registeredEvents.map(JSONValue.string))]
        if let secret { body["secret"] = .string(secret) }
        let escapedKey = key.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? key
        return try await call("/api/v1/\(clientId)/sources/\(escapedKey)", body: .object(body), method: .PUT)
    }

    /// Fails at once when nothing listens at the API URL, as the SDK's fetch does: the shared client
    /// retries a refused connection until the request's deadline, which turned a wrong `--api-url`
    /// into a 30 s stall of every run that calls back.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10)))
        // Many runs call back at once (a burst of schedule ticks): waiting for one of only eight
        // connections per host timed calls out.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func call(_ path: String, body: JSONValue, idempotencyKey: String? = nil, method: HTTPMethod = .POST) async throws -> JSONValue {
        var request = HTTPClientRequest(url: apiURL + path)
        request.method = method
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        if let idempotencyKey { request.headers.add(name: "idempotency-key", value: idempotencyKey) }
        request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
        let response = try await Self.http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONValue.parse(Data(bytes.readableBytesView))) ?? .null
        guard response.status.code == 200 else {
            throw TaskErrored(description: json["error"]?.stringValue ?? "Failed to fetch \(apiURL + path), got status code \(response.status.code)")
        }
        return json
    }
}
