import Foundation
import HTTPAPI
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// A real HTTP server on 127.0.0.1 with a free port, answering with a closure. Used to stand in for
/// users' endpoints (replaying the real SDK's captured answers, or misbehaving on purpose).
public final class TestHTTPServer: @unchecked Sendable {
    public let port: Int
    private let task: Task<Void, any Error>
    private let recorder: RequestRecorder

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// What the server received, oldest first.
    public var requests: [RecordedRequest] { recorder.all }

    public struct RecordedRequest: Sendable {
        public let method: String
        public let path: String
        public let headers: [String: String]
        public let body: Data
    }

    public typealias Handler = @Sendable (RecordedRequest) async throws -> Reply

    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: Data
        /// Streams the body in chunks without a Content-Length.
        public var chunked: Bool

        public init(status: Int, headers: [(String, String)] = [("content-type", "application/json")], body: Data = Data(), chunked: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.chunked = chunked
        }

        public static func json(_ status: Int, _ text: String) -> Reply {
            Reply(status: status, body: Data(text.utf8))
        }
    }

    public static func start(_ handler: @escaping Handler) async throws -> TestHTTPServer {
        let recorder = RequestRecorder()
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let responder = CallbackResponder<BasicRequestContext> { request, context in
            var body = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.path, headers: headers,
                                           body: Data(body.readBytes(length: body.readableBytes) ?? []))
            recorder.append(recorded)
            let reply = try await handler(recorded)
            var fields = HTTPFields()
            for (name, value) in reply.headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
            let status = HTTPResponse.Status(code: reply.status)
            if reply.chunked {
                let data = reply.body
                return Response(status: status, headers: fields, body: ResponseBody { writer in
                    var offset = 0
                    while offset < data.count {
                        let end = min(offset + 16 * 1024, data.count)
                        try await writer.write(ByteBuffer(bytes: data[offset..<end]))
                        offset = end
                    }
                    try await writer.finish(nil)
                })
            }
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        let app = Application(
            responder: responder,
            server: .guardedHTTP1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: {
                var logger = Logger(label: "test-endpoint")
                logger.logLevel = .critical
                return logger
            }())
        let task = Task { try await app.run() }
        var port = 0
        for await value in portStream { port = value; break }
        return TestHTTPServer(port: port, task: task, recorder: recorder)
    }

    private init(port: Int, task: Task<Void, any Error>, recorder: RequestRecorder) {
        self.port = port
        self.task = task
        self.recorder = recorder
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// A port on 127.0.0.1 where nothing listens: bound and never closed nor listened on, so a connect
    /// is refused and no server of a test running beside this one can be given the port (it was, once,
    /// when the socket was closed at once). One descriptor per call for the test process's life.
    public static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        return bindAnyPort(fd)
    }

    /// A port on 127.0.0.1 that was free a moment ago, for a server a test starts (bound, then closed).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindAnyPort(fd)
    }

    private static func bindAnyPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

final class RequestRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [TestHTTPServer.RecordedRequest] = []
    func append(_ request: TestHTTPServer.RecordedRequest) { lock.withLock { requests.append(request) } }
    var all: [TestHTTPServer.RecordedRequest] { lock.withLock { requests } }
}

/// Answers like the real SDK did when the fixtures were captured (`TriggerClient({id: "my-endpoint"})`
/// with `TRIGGER_API_KEY=tr_dev_x`), byte for byte from the captured bodies.
public enum RealSDKReplay {
    public static func reply(to request: TestHTTPServer.RecordedRequest, apiKey: String = Fixtures.apiKey,
                             endpointId: String = Fixtures.endpointId, index: String = "index-ok") -> TestHTTPServer.Reply {
        func fixture(_ name: String) -> TestHTTPServer.Reply {
            TestHTTPServer.Reply(status: Fixtures.status(name), body: Fixtures.body(name))
        }
        guard request.headers["x-trigger-api-key"] == apiKey else { return fixture("ping-wrong-key") }
        guard request.method == "POST" else { return fixture("get-method") }
        guard let action = request.headers["x-trigger-action"] else { return fixture("missing-action") }
        switch action {
        case "PING":
            guard let id = request.headers["x-trigger-endpoint-id"] else { return fixture("ping-missing-id") }
            if id == endpointId { return fixture("ping-ok") }
            if id == "wrong-endpoint" { return fixture("ping-wrong-id") }
            return .json(200, #"{"ok":false,"message":"Endpoint ID mismatch error. Expected \#(endpointId), got \#(id)"}"#)
        case "INDEX_ENDPOINT":
            if let job = request.headers["x-trigger-job-id"] {
                return fixture(job == "event-1" ? "index-job-ok" : "index-job-missing")
            }
            return fixture(index)
        default:
            return fixture("unknown-action")
        }
    }
}
