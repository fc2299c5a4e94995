import AsyncHTTPClient
import Crypto
import Foundation
import JSON
import NIOCore
import TestSupport
import TriggerProtocol

/// Plays the endpoint's side of a conversation captured from the real trigger.dev SDK
/// (`Tests/Fixtures/realsdk/runs/*.json` for 2.0.0-next.3, `realsdk-2.3/runs` for 2.3.18, whose
/// answers carry the SDK's version headers): for each EXECUTE_JOB Kongflow sends, it checks the request
/// against the captured one, makes the SDK's captured calls back into Kongflow's API (with this run's
/// ids, and idempotency keys recomputed with the SDK's formula), checks every answer against what the
/// SDK received, and answers with the SDK's captured EXECUTE_JOB answer.
///
/// Captured values that are the capturing server's choices (ids, timestamps) are matched by shape
/// and mapped to Kongflow's values; everything else must be equal.
actor SDKConversation {
    enum SDK: String, Sendable { case v20 = "2.0.0-next.3", v23 = "2.3.18" }

    let name: String
    let apiKey: String
    let sdk: SDK
    let index: JSONValue
    private var indexHeaders: [(String, String)] = []
    /// Answer every EXECUTE_JOB as captured without checking its key or body (a capture whose request
    /// Kongflow cannot send, such as a wrong key or a job the endpoint does not declare).
    private let answerAsCaptured: Bool
    private var executions: [[JSONValue]] = []
    private var next = 0
    private var map: [String: String] = [:]
    private(set) var issues: [String] = []
    private var apiURL = ""
    /// `(execution, call)` of an answer the capturing server got wrong on purpose (`bad-answer-*`):
    /// from there on, Kongflow's (right) answers cannot match the captured ones.
    private let deliberate: (Int, Int)?
    private var comparing = true

    var finished: Bool { next == executions.count }
    var executionsServed: Int { next }

    init(_ file: String, apiKey: String, sdk: SDK = .v20, deliberate: (Int, Int)? = nil, answerAsCaptured: Bool = false) throws {
        name = "\(sdk.rawValue)/\(file)"
        self.apiKey = apiKey
        self.sdk = sdk
        self.deliberate = deliberate
        self.answerAsCaptured = answerAsCaptured
        let directory = (sdk == .v20 ? Fixtures.directory : Fixtures.directory23).appendingPathComponent("runs")
        let document = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent("\(file).json")))
        let indexAnswer = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent("index-runs.json")))["exchange"]?[0]?["response"]
        index = indexAnswer?["body"] ?? .null
        indexHeaders = Self.headers(of: indexAnswer)
        var groups: [[JSONValue]] = []
        for exchange in document["exchange"]?.arrayValue ?? [] {
            if exchange["direction"] == "server->endpoint" { groups.append([exchange]) } else { groups[groups.count - 1].append(exchange) }
        }
        executions = groups
    }

    func connect(apiURL: String) { self.apiURL = apiURL }

    /// The first EXECUTE_JOB's event, to send into Kongflow.
    var event: JSONValue { executions.first?.first?["request"]?["body"]?["event"] ?? .null }

    func issue(_ text: String) { issues.append("\(name): \(text)") }

    // MARK: The endpoint

    func handle(_ request: TestHTTPServer.RecordedRequest) async -> TestHTTPServer.Reply {
        if answerAsCaptured, request.headers["x-trigger-action"] == "EXECUTE_JOB" { return await execute(request) }
        guard request.headers["x-trigger-api-key"] == apiKey else { return .json(401, #"{"message":"Unauthorized"}"#) }
        switch request.headers["x-trigger-action"] {
        case "PING": return TestHTTPServer.Reply(status: 200, headers: indexHeaders, body: Data(#"{"ok":true}"#.utf8))
        case "INDEX_ENDPOINT": return TestHTTPServer.Reply(status: 200, headers: indexHeaders, body: Data(index.jsonString().utf8))
        case "EXECUTE_JOB": return await execute(request)
        default: return .json(405, #"{"message":"Method not allowed"}"#)
        }
    }

    private func execute(_ request: TestHTTPServer.RecordedRequest) async -> TestHTTPServer.Reply {
        guard next < executions.count else {
            issue("an EXECUTE_JOB more than the \(executions.count) captured")
            return .json(500, #"{"message":"unexpected"}"#)
        }
        let group = executions[next]
        let number = next
        next += 1
        let recorded = group[0]
        if request.headers["content-type"] != "application/json" { issue("X\(number + 1): content-type \(request.headers["content-type"] ?? "none")") }
        if request.headers["x-trigger-version"] != nil { issue("X\(number + 1): x-trigger-version sent; the webapp sent none on EXECUTE_JOB") }
        guard let body = try? JSONValue.parse(request.body) else {
            issue("X\(number + 1): body is not JSON")
            return .json(500, "{}")
        }
        if !answerAsCaptured { compare(recorded["request"]?["body"] ?? .null, body, at: "X\(number + 1) request") }
        for (call, exchange) in group.dropFirst().enumerated() {
            if let deliberate, deliberate == (number, call) { comparing = false }
            await replay(exchange, label: "X\(number + 1) call \(call + 1)")
        }
        let answer = recorded["response"] ?? .null
        let reply = substitute(answer["body"] ?? .null, newTimestamp: Date().addingTimeInterval(0.15))
        return TestHTTPServer.Reply(status: Int(answer["status"]?.numberValue ?? 200), headers: Self.headers(of: answer), body: Data(reply.jsonString().utf8))
    }

    /// A captured answer's headers as an endpoint sends them (the placeholders given real values).
    static func headers(of answer: JSONValue?) -> [(String, String)] {
        guard case .object(let headers)? = answer?["headers"] else { return [("content-type", "application/json")] }
        return headers.compactMap { name, value in
            guard name != "content-length", let text = value.stringValue else { return nil }
            return (name, text == "<REQUEST_TIMING>" ? "dur=1.5" : text)
        }
    }

    // MARK: The SDK's calls

    private func replay(_ exchange: JSONValue, label: String) async {
        let recorded = exchange["request"] ?? .null
        var path = recorded["path"]?.stringValue ?? ""
        for (from, to) in map where path.contains(from) { path = path.replacingOccurrences(of: from, with: to) }
        var request = HTTPClientRequest(url: apiURL + path)
        request.method = .init(rawValue: recorded["method"]?.stringValue ?? "POST")
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        for name in ["trigger-version", "x-cached-tasks-cursor"] {
            if let value = recorded["headers"]?[name]?.stringValue { request.headers.add(name: name, value: value) }
        }
        var body = recorded["body"] ?? .null
        if let key = recorded["headers"]?["idempotency-key"]?.stringValue {
            guard let actual = idempotencyKey(key, body: body) else { return }
            request.headers.add(name: "idempotency-key", value: actual)
        }
        // A wait the SDK asks for now ends in a second; three leave a loaded machine time to store it WAITING.
        body = substitute(body, newTimestamp: Date().addingTimeInterval(3))
        request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 10 << 20)
            let status = Int(response.status.code)
            let actual = (try? JSONValue.parse(Data(bytes.readableBytesView))) ?? .null
            guard comparing else { return }
            let expected = exchange["response"] ?? .null
            if status != Int(expected["status"]?.numberValue ?? 0) {
                issue("\(label) \(path): status \(status), the SDK got \(expected["status"] ?? .null): \(actual.jsonString())")
                return
            }
            if let version = expected["headers"]?["trigger-version"]?.stringValue, response.headers.first(name: "trigger-version") != version {
                issue("\(label) \(path): answer header trigger-version \(response.headers.first(name: "trigger-version") ?? "absent"), the SDK got \(version)")
            }
            var expectedBody = expected["body"] ?? .null
            if path.hasSuffix("/api/v1/events"), case .object(let row) = expectedBody {
                // The SDK reads ApiEventLog out of the answer; the 2.0 capturing server sent the whole row.
                expectedBody = .object(row.filter { ["id", "name", "payload", "context", "timestamp", "deliverAt", "deliveredAt", "cancelledAt"].contains($0.key) })
            }
            compare(expectedBody, actual, at: "\(label) \(path) answer")
        } catch {
            issue("\(label) \(path): \(error)")
        }
    }

    /// The SDK's key, `sha256(runId:parentId:key…)`, recomputed for Kongflow's run and parent ids.
    private func idempotencyKey(_ recordedKey: String, body: JSONValue) -> String? {
        if let mapped = map[recordedKey] { return mapped }
        let material: [String]
        if let display = body["displayKey"]?.stringValue {
            material = [display]
        } else if body["name"] == "log", let message = body["description"]?.stringValue, let level = body["properties"]?[0]?["text"]?.stringValue {
            material = [message, level]
        } else {
            issue("cannot tell the key material of \(body.jsonString())")
            return nil
        }
        let recordedRun = executions[0][0]["request"]?["body"]?["run"]?["id"]?.stringValue ?? ""
        let recordedParent = body["parentId"]?.stringValue ?? ""
        guard Self.sha256(([recordedRun, recordedParent] + material).joined(separator: ":")) == recordedKey else {
            issue("the captured key \(recordedKey) is not sha256(run:parent:\(material))")
            return nil
        }
        let actual = Self.sha256(([map[recordedRun] ?? recordedRun, recordedParent.isEmpty ? "" : map[recordedParent] ?? recordedParent] + material)
            .joined(separator: ":"))
        map[recordedKey] = actual
        return actual
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Values

    /// A captured value with Kongflow's ids and timestamps in; timestamps not seen yet become `newTimestamp`.
    private func substitute(_ value: JSONValue, newTimestamp: Date) -> JSONValue {
        switch value {
        case .string(let text):
            if let mapped = map[text] { return .string(mapped) }
            if text == "<STACK>" { return "Error: replayed\n    at conversation (replay.js:1:1)" }
            if Self.isTimestampPlaceholder(text) {
                let fresh = ISODate.format(newTimestamp)
                map[text] = fresh
                return .string(fresh)
            }
            return value
        case .array(let items): return .array(items.map { substitute($0, newTimestamp: newTimestamp) })
        case .object(let object): return .object(object.mapValues { substitute($0, newTimestamp: newTimestamp) })
        default: return value
        }
    }

    /// `actual` must carry every captured key with an equal value; captured ids and timestamps are
    /// learned the first time and must stay the same afterwards. Extra keys must not be null (the
    /// SDK's schemas reject null where they expect an absent optional).
    private func compare(_ expected: JSONValue, _ actual: JSONValue, at path: String) {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            for (key, value) in e {
                guard let other = a[key] else { issue("\(path).\(key) missing"); continue }
                if key == "noopTasksSet" { compareNoopSet(value, other, at: "\(path).\(key)"); continue }
                // Kongflow keeps a failed task's message as `error` (upstream left it null): a replay then
                // throws the real message instead of "Task errored".
                if key == "error", value == .null, a["status"] == "ERRORED", other.stringValue != nil { continue }
                compare(value, other, at: "\(path).\(key)")
            }
            for (key, value) in a where e[key] == nil && value == .null && !Self.laterProtocolKeys.contains(key) {
                issue("\(path).\(key) is null where the SDK expects it absent")
            }
        case (.array(let e), .array(let a)):
            guard e.count == a.count else { issue("\(path): \(a.count) items, captured \(e.count): \(actual.jsonString())"); return }
            for (index, pair) in zip(e, a).enumerated() { compare(pair.0, pair.1, at: "\(path)[\(index)]") }
        case (.string(let e), .string(let a)):
            if e == a { return }
            if let mapped = map[e] {
                if mapped != a { issue("\(path): \(a), expected \(mapped) (captured \(e))") }
            } else if Self.isTimestampPlaceholder(e) {
                if ISODate.parse(a) == nil || !a.hasSuffix("Z") || a.count != 24 { issue("\(path): \(a) is not an ISO timestamp with milliseconds") }
                map[e] = a
            } else if Self.looksLikeId(e) {
                map[e] = a
            } else if e == "<STACK>" {
                return
            } else {
                issue("\(path): \"\(a)\", captured \"\(e)\"")
            }
        default:
            if expected != actual { issue("\(path): \(actual.jsonString()), captured \(expected.jsonString())") }
        }
    }

    /// Keys the last v2 webapp sent to every SDK (ServerTask's `context`/`callbackUrl`, ApiEventLog's
    /// `cancelledAt`): 2.0's schemas drop keys they do not know, so a null there is harmless.
    static let laterProtocolKeys: Set<String> = ["context", "callbackUrl", "cancelledAt"]

    /// The captured filter holds the capture's noop task keys; Kongflow's must hold exactly the keys
    /// it was given for them in this run (mapped through `map`), computed with the SDK's hash.
    private func compareNoopSet(_ expected: JSONValue, _ actual: JSONValue, at path: String) {
        guard let captured = expected.stringValue.flatMap(NoopTaskSet.init(base64:)) else { issue("\(path): the capture's filter does not decode"); return }
        guard let sent = actual.stringValue.flatMap(NoopTaskSet.init(base64:)) else { issue("\(path): \(actual.jsonString().prefix(80)) is not a 4,096-byte base64 filter"); return }
        let keys = map.filter { $0.key.count == 64 && captured.contains($0.key) }.map(\.value)
        let bits = captured.bytes.reduce(0) { $0 + $1.nonzeroBitCount }
        if keys.count < bits { issue("\(path): the capture's filter has \(bits) keys, \(keys.count) of them were sent in this run") }
        if sent != NoopTaskSet(keys) { issue("\(path): the filter does not hold exactly this run's completed noop tasks \(keys)") }
    }

    static func isTimestampPlaceholder(_ text: String) -> Bool { text.hasPrefix("<TS_") && text.hasSuffix(">") }

    /// cuids (`cl…`, 25 characters), ULIDs (26, either case) and SHA-256 keys: values the capturing
    /// server or the SDK derived from the capture's own ids.
    static func looksLikeId(_ text: String) -> Bool {
        let alnum = text.allSatisfy { $0.isLetter || $0.isNumber }
        return alnum && ((text.count == 25 && text.hasPrefix("cl")) || text.count == 26 || text.count == 64)
    }
}
