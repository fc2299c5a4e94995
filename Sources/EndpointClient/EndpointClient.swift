import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TriggerProtocol
import Timing

public struct EndpointClientConfiguration: Sendable {
    /// Total time for a PING, connection and body included.
    public var pingTimeout: Duration = .seconds(10)
    /// Total time for an INDEX_ENDPOINT.
    public var indexTimeout: Duration = .seconds(15)
    /// Total time for an EXECUTE_JOB, per environment type (`DEVELOPMENT`, `PRODUCTION`, …): the job's
    /// tasks run inside the request. Later trigger.dev allowed 5 minutes in development.
    public var executeTimeouts: [String: Duration] = [:]
    public var defaultExecuteTimeout: Duration = .seconds(300)
    public var connectTimeout: Duration = .seconds(5)
    /// Bodies larger than this are refused (the original buffered whatever came).
    public var maximumResponseBytes = 10 * 1024 * 1024
    public var maximumRedirects = 5
    /// Open connections to one host and port. Calls beyond it wait for a connection while their
    /// timeout runs, so this must exceed the calls a server makes at once (worker concurrency plus
    /// API PINGs): many endpoints often share a host, and AsyncHTTPClient's default of 8 let eight
    /// hanging endpoints time out every other call to that host (RELIABILITY.md, endpoint faults).
    public var maximumConnectionsPerHost = 128
    /// Refuse endpoints that resolve to loopback, private or link-local addresses. Off by default
    /// because local development endpoints live on localhost; turn it on for multi-tenant servers.
    public var refusePrivateAddresses = false
    public var userAgent = "kongflow/0.1.0 (trigger.dev v2 compatible)"

    public init() {}
}

/// Why a call to an endpoint failed, with the message trigger.dev shows for it.
public struct EndpointCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidURL
        case refusedAddress
        case connection
        case timeout
        case unauthorized
        case status(Int)
        case tooLarge
        case redirect
        case invalidJSON
        case invalidSchema
        /// The endpoint answered and said no (PING `ok: false`).
        case endpointReported
    }

    public let kind: Kind
    public let message: String
    /// Details for the index's `error.raw`: the validation issues, the low-level error.
    public let raw: JSONValue?

    public init(_ kind: Kind, _ message: String, raw: JSONValue? = nil) {
        self.kind = kind
        self.message = message
        self.raw = raw
    }

    public var description: String { message }
}

/// What the transport learned besides the body.
public struct EndpointResponseInfo: Sendable, Equatable {
    /// Where the answer came from after following redirects.
    public let finalURL: String
    /// Set when every redirect on the way was permanent (301/308): the endpoint's URL should become this.
    public let permanentRedirectURL: String?
    public let triggerVersion: String?
    public let triggerSdkVersion: String?
    /// The answer is a serverless platform's "function ran out of time" page, not the endpoint's
    /// (the signatures the last v2 webapp knew): the job was cut off, not broken.
    public var platformTimeout = false
}

public struct PingResult: Sendable, Equatable {
    public let info: EndpointResponseInfo
    public let triggerVersion: String?
    public let triggerSdkVersion: String?
}

public struct IndexResult: Sendable {
    public let response: IndexEndpointResponse
    /// The answer as it came, parsed once: its items travel to registration as they are, and
    /// registration validates them (stripping unknown keys) without a re-encoding in between.
    public let document: JSONValue
    public let info: EndpointResponseInfo
}

/// Talks to a user's endpoint the way the trigger.dev v2 server does: `POST <url>` with
/// `x-trigger-action`, hardened with timeouts, a body cap and manual redirects.
public final class EndpointClient: Sendable {
    public static let triggerAPIVersion = "2023-09-29"

    let http: HTTPClient
    let configuration: EndpointClientConfiguration
    let ownsHTTPClient: Bool
    let logger: Logger
    /// Every call's deadline (`send`).
    let deadlines = DeadlineWatch()

    public init(configuration: EndpointClientConfiguration = .init(), logger: Logger = Logger(label: "kongflow.endpoint-client")) {
        var httpConfiguration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds)))
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(30),
                                                 concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnectionsPerHost)
        // A refused connection is an answer ("Could not connect"), not something to retry until the deadline.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.configuration = configuration
        self.ownsHTTPClient = true
        self.logger = logger
    }

    public func shutdown() async {
        if ownsHTTPClient { try? await http.shutdown() }
    }

    /// PING: is a TriggerClient with this id answering at `url` with this key?
    public func ping(url: String, apiKey: String, endpointId: String) async throws -> PingResult {
        let (status, body, info) = try await send(
            url: url, apiKey: apiKey, action: "PING",
            extraHeaders: [("x-trigger-endpoint-id", endpointId)], timeout: configuration.pingTimeout)
        try Self.checkStatus(status, body: body, url: url)
        let json = try Self.parseJSON(body)
        let pong: PongResponse
        do {
            pong = try PongResponse.decode(json)
        } catch let error as ValidationError {
            throw EndpointCallError(.invalidSchema, "Endpoint \(url) responded with error: \(error.message())", raw: error.raw)
        }
        switch pong {
        case .success(let triggerVersion, let sdkVersion):
            return PingResult(info: info, triggerVersion: triggerVersion ?? info.triggerVersion, triggerSdkVersion: sdkVersion ?? info.triggerSdkVersion)
        case .failure(let message):
            throw EndpointCallError(.endpointReported, message)
        }
    }

    /// INDEX_ENDPOINT: everything the endpoint declares, validated.
    public func indexEndpoint(url: String, apiKey: String) async throws -> IndexResult {
        let (status, body, info) = try await send(
            url: url, apiKey: apiKey, action: "INDEX_ENDPOINT",
            extraHeaders: [("accept", "application/json")], timeout: configuration.indexTimeout)
        try Self.checkStatus(status, body: body, url: url)
        let json = try Self.parseJSON(body)
        do {
            return IndexResult(response: try IndexEndpointResponse.decode(json), document: json, info: info)
        } catch let error as IndexValidationError {
            throw EndpointCallError(.invalidSchema, error.message, raw: error.raw)
        }
    }

    /// EXECUTE_JOB: the job runs inside this request. The answer's status and body are the caller's
    /// to judge (a 4xx and a 5xx mean different things to the run engine); transport failures throw.
    public func executeJob(url: String, apiKey: String, body: [UInt8], environmentType: String) async throws -> (status: Int, body: ByteBuffer, info: EndpointResponseInfo) {
        let timeout = configuration.executeTimeouts[environmentType] ?? configuration.defaultExecuteTimeout
        return try await send(url: url, apiKey: apiKey, action: "EXECUTE_JOB", extraHeaders: [], body: body, versioned: false, timeout: timeout)
    }

    /// INITIALIZE_TRIGGER (docs/spec/trigger-v2-runs.md §7.4): the endpoint's dynamic trigger `id` says what registering it with
    /// `params` needs (a `RegisterTriggerBody`). A non-2xx answer is an error with the SDK's message.
    public func initializeTrigger(url: String, apiKey: String, id: String, params: JSONValue) async throws -> JSONValue {
        let body = JSONValue.object(["id": .string(id), "params": params]).jsonBytes()
        let (status, answer, _) = try await send(url: url, apiKey: apiKey, action: "INITIALIZE_TRIGGER", extraHeaders: [], body: body,
                                                 timeout: configuration.indexTimeout)
        guard (200..<300).contains(status) else {
            let message = (try? JSONValue.parse(Data(answer.readableBytesView))).flatMap { try? ErrorWithStack.decode($0) }?.message
            throw EndpointCallError(.status(status), message ?? "Endpoint responded with \(status) status code")
        }
        return try Self.parseJSON(answer)
    }

    /// DELIVER_HTTP_SOURCE_REQUEST (docs/spec/trigger-v2-runs.md §7.2): a webhook for one of the endpoint's sources, its
    /// raw bytes as the body and what the SDK needs to check and parse it in `x-ts-*` headers.
    public func deliverHttpSourceRequest(url: String, apiKey: String, headers: [(String, String)], body: [UInt8]) async throws -> (status: Int, body: ByteBuffer) {
        let (status, answer, _) = try await send(url: url, apiKey: apiKey, action: "DELIVER_HTTP_SOURCE_REQUEST",
                                                 extraHeaders: [("content-type", "application/octet-stream")] + headers, body: body,
                                                 timeout: configuration.indexTimeout)
        return (status, answer)
    }

    /// Vercel (504 + `x-vercel-error: FUNCTION_INVOCATION_TIMEOUT`), CloudFront (504 + `x-amz-cf-id`),
    /// Deno Deploy (502 mentioning `TIME_LIMIT`) and Cloudflare Workers (503 "Worker exceeded resource limits").
    static func isPlatformTimeout(status: Int, headers: HTTPHeaders, body: ByteBuffer) -> Bool {
        switch status {
        case 504: return headers.first(name: "x-vercel-error") == "FUNCTION_INVOCATION_TIMEOUT" || headers.contains(name: "x-amz-cf-id")
        case 502: return String(decoding: body.readableBytesView.prefix(4096), as: UTF8.self).contains("TIME_LIMIT")
        case 503: return String(decoding: body.readableBytesView.prefix(8192), as: UTF8.self).contains("Worker exceeded resource limits")
        default: return false
        }
    }

    static func checkStatus(_ status: Int, body: ByteBuffer, url: String) throws {
        if status == 401 {
            let message = (try? JSONValue.parse(Data(body.readableBytesView))).flatMap { try? ErrorWithStack.decode($0) }?.message
            throw EndpointCallError(.unauthorized, message ?? "Trigger API key is invalid")
        }
        guard (200..<300).contains(status) else {
            throw EndpointCallError(.status(status), "Could not connect to endpoint \(url). Status code: \(status)")
        }
    }

    static func parseJSON(_ body: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONValue.parse(Data(body.readableBytesView))
        } catch {
            throw EndpointCallError(.invalidJSON, "Could not parse response from endpoint. Make sure it points to the correct URL (you might be missing /api/trigger)")
        }
    }

    // MARK: Transport

    /// `versioned` sends `x-trigger-version`; EXECUTE_JOB goes without it, as the webapp sent it, so
    /// that later SDKs treat this server as unversioned until it speaks their run protocol.
    func send(url: String, apiKey: String, action: String, extraHeaders: [(String, String)], body: [UInt8]? = nil,
              versioned: Bool = true, timeout: Duration) async throws -> (Int, ByteBuffer, EndpointResponseInfo) {
        guard let start = URL(string: url), let scheme = start.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = start.host, !host.isEmpty else {
            throw EndpointCallError(.invalidURL, "Invalid endpoint URL \(url): only absolute http and https URLs are supported")
        }
        do {
            return try await withDeadline(timeout, watch: deadlines) {
                try await self.follow(start: start, apiKey: apiKey, action: action, extraHeaders: extraHeaders, body: body,
                                      versioned: versioned, timeout: timeout)
            }
        } catch is DeadlineExceeded {
            throw EndpointCallError(.timeout, "Could not connect to endpoint \(url): no response within \(Self.describe(timeout))")
        }
    }

    private func follow(start: URL, apiKey: String, action: String, extraHeaders: [(String, String)], body: [UInt8]?,
                        versioned: Bool, timeout: Duration) async throws -> (Int, ByteBuffer, EndpointResponseInfo) {
        let original = start.absoluteString
        var current = start
        var permanent: URL? = nil
        var onlyPermanentRedirects = true
        var hops = 0
        while true {
            if configuration.refusePrivateAddresses { try await AddressGuard.check(current, original: original) }
            var request = HTTPClientRequest(url: current.absoluteString)
            request.method = .POST
            request.headers.add(name: "x-trigger-api-key", value: apiKey)
            request.headers.add(name: "x-trigger-action", value: action)
            if versioned { request.headers.add(name: "x-trigger-version", value: Self.triggerAPIVersion) }
            if let body {
                if !extraHeaders.contains(where: { $0.0 == "content-type" }) { request.headers.add(name: "content-type", value: "application/json") }
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            request.headers.add(name: "user-agent", value: configuration.userAgent)
            for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
            let response: HTTPClientResponse
            do {
                // Our own deadline (around the whole exchange, redirects and body included) fires
                // first; this one only stops AsyncHTTPClient from outliving it.
                response = try await http.execute(request, timeout: Self.timeAmount(timeout + .seconds(1)), logger: logger)
            } catch {
                throw EndpointCallError(.connection, "Could not connect to endpoint \(original)", raw: .string("\(error)"))
            }
            let status = Int(response.status.code)
            if [301, 302, 303, 307, 308].contains(status) {
                _ = try? await response.body.collect(upTo: 64 * 1024)
                guard let location = response.headers.first(name: "location"),
                      let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw EndpointCallError(.redirect, "Endpoint \(original) is redirecting but no location header is present")
                }
                hops += 1
                guard hops <= configuration.maximumRedirects else {
                    throw EndpointCallError(.redirect, "Endpoint \(original) is redirecting too many times")
                }
                guard let scheme = next.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
                    throw EndpointCallError(.redirect, "Endpoint \(original) redirects to \(next.absoluteString), which is not an http or https URL")
                }
                // The API key goes only where the user pointed us (or its https upgrade). A redirect
                // elsewhere is reported, not followed: following it would hand the key to that host.
                guard Self.mayCarryKey(from: start, to: next) else {
                    throw EndpointCallError(.redirect, "Endpoint \(original) redirects to another origin (\(next.absoluteString)); the API key is not sent there. Update the endpoint URL if the new location is intended.",
                                            raw: .object(["location": .string(next.absoluteString)]))
                }
                if status == 301 || status == 308, onlyPermanentRedirects { permanent = next } else { onlyPermanentRedirects = false; permanent = nil }
                current = next
                continue
            }
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > configuration.maximumResponseBytes {
                throw tooLarge(original)
            }
            let answer: ByteBuffer
            do {
                answer = try await response.body.collect(upTo: configuration.maximumResponseBytes)
            } catch is NIOTooManyBytesError {
                throw tooLarge(original)
            } catch {
                throw EndpointCallError(.connection, "Could not connect to endpoint \(original)", raw: .string("\(error)"))
            }
            let info = EndpointResponseInfo(
                finalURL: current.absoluteString,
                permanentRedirectURL: permanent?.absoluteString,
                triggerVersion: response.headers.first(name: "trigger-version"),
                triggerSdkVersion: response.headers.first(name: "trigger-sdk-version"),
                platformTimeout: Self.isPlatformTimeout(status: status, headers: response.headers, body: answer))
            return (status, answer, info)
        }
    }

    private func tooLarge(_ url: String) -> EndpointCallError {
        EndpointCallError(.tooLarge, "Endpoint \(url) responded with more than \(configuration.maximumResponseBytes) bytes; the response was not read")
    }

    /// Same scheme, host and port, or the same host moving from http to https.
    static func mayCarryKey(from start: URL, to next: URL) -> Bool {
        func port(_ url: URL) -> Int { url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80) }
        guard start.host?.lowercased() == next.host?.lowercased() else { return false }
        let fromScheme = start.scheme?.lowercased(), toScheme = next.scheme?.lowercased()
        if fromScheme == toScheme { return port(start) == port(next) }
        return fromScheme == "http" && toScheme == "https"
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.nanoseconds)
    }

    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds)s" }
        return String(format: "%.1fs", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
