import AsyncHTTPClient
import Foundation
import JSON
import NIOCore
import NIOHTTP1

/// Just enough of the W3C WebDriver protocol to use a page as a person does: open a URL, find
/// elements by CSS, type, click, read text, take a screenshot. Drives Debian's `chromium` through
/// `chromedriver` (packages `chromium` and `chromium-driver`, which `.ci/run` installs).
public final class WebDriver {
    public static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    public static let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Why the browser tests cannot run here, or nil when they can.
    public static var unavailable: String? {
        chromedriver == nil || chromium == nil
            ? "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver); the browser tests are skipped" : nil
    }

    let process: Process
    let base: String
    let session: String

    /// Starts chromedriver and a headless Chromium of `width`×`height`.
    public init(width: Int = 1280, height: Int = 900) async throws {
        guard let driver = Self.chromedriver, let chromium = Self.chromium else { throw Failure(Self.unavailable ?? "") }
        let port = try TestHTTPServer.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: driver)
        process.arguments = ["--port=\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        base = "http://127.0.0.1:\(port)"
        var answer: JSONValue = .null
        let capabilities: JSONValue = ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
            "binary": .string(chromium),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", .string("--window-size=\(width),\(height)")],
        ]]]]
        // chromedriver takes a moment to listen.
        for attempt in 0..<100 {
            do {
                answer = try await Self.call(base, .POST, "/session", capabilities)
                break
            } catch let error as Failure {
                throw error
            } catch {
                if attempt == 99 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        guard let id = answer["value"]?["sessionId"]?.stringValue else { throw Failure("chromedriver gave no session: \(answer.jsonString())") }
        session = id
        // A click that submits a form returns before the next page is there: finding an element
        // waits for it (up to 10 s) instead of failing at once.
        _ = try await call(.POST, "/timeouts", ["implicit": 10000])
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    static func call(_ base: String, _ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let json = (try? JSONValue.parse(Data(try await response.body.collect(upTo: 64 << 20).readableBytesView))) ?? .null
        guard response.status == .ok else { throw Failure("WebDriver \(method) \(path): \(response.status.code) \(json.jsonString().prefix(500))") }
        return json
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        try await Self.call(base, method, "/session/\(session)\(path)", body)
    }

    public func open(_ url: String) async throws { _ = try await call(.POST, "/url", ["url": .string(url)]) }
    public func currentURL() async throws -> String { try await call(.GET, "/url")["value"]?.stringValue ?? "" }
    /// The page's URL once it ends with `suffix` (a click that submits a form returns before the
    /// browser has followed the answer's redirect), or the URL it is still at after `timeout`.
    public func waitForURL(suffix: String, timeout: Duration = .seconds(15)) async throws -> String {
        var url = try await currentURL()
        _ = try await eventually(timeout: timeout) {
            url = try await currentURL()
            return url.hasSuffix(suffix)
        }
        return url
    }
    public func title() async throws -> String { try await call(.GET, "/title")["value"]?.stringValue ?? "" }

    /// The first element matching `css`.
    public func find(_ css: String) async throws -> String {
        let answer = try await call(.POST, "/element", ["using": "css selector", "value": .string(css)])
        guard case .object(let element)? = answer["value"], let id = element.values.first?.stringValue else { throw Failure("no element \(css)") }
        return id
    }

    public func count(_ css: String) async throws -> Int {
        try await call(.POST, "/elements", ["using": "css selector", "value": .string(css)])["value"]?.arrayValue?.count ?? 0
    }

    public func type(_ css: String, _ text: String) async throws {
        _ = try await call(.POST, "/element/\(try await find(css))/value", ["text": .string(text)])
    }

    public func click(_ css: String) async throws { _ = try await call(.POST, "/element/\(try await find(css))/click", [:]) }

    /// The text a person sees in the element (`body` for the page).
    public func text(_ css: String = "body") async throws -> String {
        try await call(.GET, "/element/\(try await find(css))/text")["value"]?.stringValue ?? ""
    }

    /// The page's width as laid out (to check nothing forces sideways scrolling on a phone).
    public func script(_ source: String) async throws -> JSONValue {
        try await call(.POST, "/execute/sync", ["script": .string(source), "args": []])["value"] ?? .null
    }

    public func screenshot(to path: String) async throws {
        let base64 = try await call(.GET, "/screenshot")["value"]?.stringValue ?? ""
        guard let data = Data(base64Encoded: base64) else { throw Failure("no screenshot") }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Resizes the window (a phone is 375 px wide).
    public func resize(width: Int, height: Int) async throws {
        _ = try await call(.POST, "/window/rect", ["width": .number(Double(width)), "height": .number(Double(height))])
    }

    public func quit() async {
        _ = try? await Self.call(base, .DELETE, "/session/\(session)")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
