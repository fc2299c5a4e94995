import Endpoints
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import JSON
import NIOCore
import Queue
import Registration
import Runs
import Secrets
import Tenancy

/// The web dashboard served by `kongflow serve` at `/`: server-rendered pages over the same services
/// as the JSON API (no SQL here), for the environment a person signed in to with its API key.
public struct DashboardController: Sendable {
    let deps: APIDependencies
    let signer: DashboardSession.Signer
    let tenancy: TenancyService
    let now: @Sendable () -> Date

    public init(deps: APIDependencies, secrets: SecretBox, now: @escaping @Sendable () -> Date = Date.init) {
        self.deps = deps
        signer = DashboardSession.Signer(key: secrets.derivedKey(purpose: "kongflow dashboard sessions"))
        tenancy = TenancyService(database: deps.database)
        self.now = now
    }

    /// What a page needs about who is looking.
    struct Viewer {
        let session: DashboardSession
        let environment: AuthenticatedEnvironment
        let csrf: String
    }

    public func addRoutes(to router: Router<APIRequestContext>) {
        router.get("/") { request, _ in
            signer.session(in: request, now: now()) == nil ? Self.redirect("/login") : Self.redirect("/endpoints")
        }
        router.get("/dashboard.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: Templates.css)))
        }
        router.get("/login") { _, _ in page("Sign in", "login", [:], viewer: nil) }
        router.post("/login") { request, context in
            let form = try await Self.form(request, context)
            let key = form["apiKey"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard let environment = try await tenancy.authenticate(authorization: "Bearer \(key)") else {
                return page("Sign in", "login", ["error": "That is not the secret key of an environment of this server."], viewer: nil, status: .unauthorized)
            }
            let session = signer.issue(environmentId: environment.id, now: now())
            var response = Self.redirect("/endpoints")
            response.headers[.setCookie] = DashboardSession.cookie(session, secure: Self.isSecure(request))
            return response
        }
        // A one-time link from `kongflow dashboard-link`: the GET only shows a button, so a link
        // previewer that fetches it does not use it up.
        router.get("/login/link") { request, _ in
            page("Sign in", "loginLink", ["token": request.uri.queryParameters.get("token") ?? ""], viewer: nil)
        }
        router.post("/login/link") { request, context in
            let form = try await Self.form(request, context)
            guard let environment = try await tenancy.redeemLoginLink(form["token"] ?? "") else {
                return page("Sign in", "login", ["error": "That sign-in link has expired or was used already. `kongflow dashboard-link` makes a new one."],
                            viewer: nil, status: .unauthorized)
            }
            let session = signer.issue(environmentId: environment.id, now: now())
            var response = Self.redirect("/endpoints")
            response.headers[.setCookie] = DashboardSession.cookie(session, secure: Self.isSecure(request))
            return response
        }
        router.post("/logout") { request, context in
            let form = try await Self.form(request, context)
            if let session = signer.session(in: request, now: now()), !signer.checkCSRF(form["csrf"], session: session) {
                return Self.forbidden()
            }
            var response = Self.redirect("/login")
            response.headers[.setCookie] = DashboardSession.cookie(nil, secure: Self.isSecure(request))
            return response
        }

        router.get("/endpoints") { request, _ in
            try await signedIn(request) { viewer in
                let endpoints = try await deps.endpoints.endpoints(environment: viewer.environment).map { endpoint, index -> [String: Any] in
                    var row: [String: Any] = ["slug": endpoint.slug, "slugPath": Self.path(endpoint.slug), "url": endpoint.url, "sdk": endpoint.sdkVersion,
                                              "jobs": index?.stats?["jobs"]?.numberValue.map { String(Int($0)) } ?? "–"]
                    if let index { row["index"] = Self.status(index.status.rawValue).merging(Self.time(index.createdAt, now: now())) { $1 } }
                    return row
                }
                return page("Endpoints", "endpoints", ["endpoints": endpoints, "hasEndpoints": !endpoints.isEmpty, "nav_endpoints": true],
                            viewer: viewer, flash: request.uri.queryParameters.get("flash"))
            }
        }
        router.get("/endpoints/:slug") { request, context in
            try await signedIn(request) { viewer in
                let slug = try context.parameters.require("slug")
                let endpoint = try await deps.endpoints.endpoint(environment: viewer.environment, slug: slug)
                let indexes = try await deps.endpoints.indexes(environment: viewer.environment, slug: slug, limit: 20, before: nil)
                var failures: [[String: Any]] = []
                if let latest = indexes.first {
                    let summary = try await deps.endpoints.registrationSummary(indexId: latest.id)
                    failures = (summary.failures + summary.unsupported).map { ["kind": $0.kind, "key": $0.key, "message": $0.message] }
                }
                let host = request.head.authority ?? "127.0.0.1"
                let hook = "\(Self.isSecure(request) ? "https" : "http")://\(host)/api/v1/endpoints/\(viewer.environment.id.lowercasedString)/\(endpoint.slug)/index/\(endpoint.indexingHookIdentifier)"
                let rows = indexes.map { index -> [String: Any] in
                    var row = Self.status(index.status.rawValue).merging(Self.time(index.createdAt, now: now())) { $1 }
                    row["source"] = index.source.rawValue
                    row["reason"] = index.reason ?? ""
                    row["stats"] = index.stats.map(Self.stats) ?? ""
                    row["took"] = index.status.isTerminal ? Self.duration(index.updatedAt.timeIntervalSince(index.createdAt)) : "…"
                    if let error = index.error { row["error"] = error.message }
                    return row
                }
                return page(endpoint.slug, "endpoint", [
                    "slug": endpoint.slug, "slugPath": Self.path(endpoint.slug), "url": endpoint.url, "sdk": endpoint.sdkVersion, "version": endpoint.version,
                    "hook": hook, "indexes": rows, "hasIndexes": !rows.isEmpty, "failures": failures, "hasFailures": !failures.isEmpty,
                    "nav_endpoints": true,
                ], viewer: viewer, flash: request.uri.queryParameters.get("flash"))
            }
        }
        router.post("/endpoints/:slug/reindex") { request, context in
            try await signedIn(request, form: try await Self.form(request, context)) { viewer in
                let slug = try context.parameters.require("slug")
                let index = try await deps.endpoints.requestIndex(environment: viewer.environment, slug: slug, source: .manual, reason: "Dashboard", sourceData: nil)
                return Self.redirect("/endpoints/\(Self.path(slug))?flash=\(Self.query("Re-index requested (\(index.status.rawValue.lowercased())).")))")
            }
        }
        router.post("/endpoints/:slug/delete") { request, context in
            try await signedIn(request, form: try await Self.form(request, context)) { viewer in
                let endpoint = try await deps.endpoints.deleteEndpoint(environment: viewer.environment, slug: try context.parameters.require("slug"))
                return Self.redirect("/endpoints?flash=\(Self.query("Deleted \(endpoint.slug).")))")
            }
        }

        router.get("/jobs") { request, _ in
            try await signedIn(request) { viewer in
                let jobs = try await RegisteredJobs(database: deps.database).list(environmentId: viewer.environment.id)
                    .filter { $0["internal"] != .bool(true) }
                    .map { job -> [String: Any] in
                        let slug = job["slug"]?.stringValue ?? ""
                        return ["slug": slug, "slugPath": Self.path(slug), "slugQuery": Self.query(slug), "name": job["title"]?.stringValue ?? "", "version": job["latestVersion"]?.stringValue ?? "",
                                "trigger": Self.trigger(job["trigger"] ?? .null), "queue": job["endpoint"]?.stringValue.map { "endpoint \($0)" } ?? ""]
                            .merging(Self.status(job["status"]?.stringValue ?? "")) { $1 }
                    }
                return page("Jobs", "jobs", ["jobs": jobs, "hasJobs": !jobs.isEmpty, "nav_jobs": true], viewer: viewer)
            }
        }

        router.get("/jobs/:slug") { request, context in
            try await signedIn(request) { viewer in
                let slug = try context.parameters.require("slug")
                guard let job = try await RegisteredJobs(database: deps.database).detail(environmentId: viewer.environment.id, slug: slug) else {
                    throw RunServiceError.jobNotFound
                }
                let versions = (job["versions"]?.arrayValue ?? []).map { version -> [String: Any] in
                    var row = Self.status(version["status"]?.stringValue ?? "")
                    row["version"] = version["version"]?.stringValue ?? ""
                    row["endpoint"] = version["endpoint"]?.stringValue ?? ""
                    row["queue"] = "\(version["queue"]?["name"]?.stringValue ?? "") (at most \(Int(version["queue"]?["maxJobs"]?.numberValue ?? 0)) at once)"
                    row["trigger"] = Self.trigger(version["trigger"] ?? .null)
                    row["latest"] = version["version"] == job["latestVersion"]
                    if let created = version["createdAt"]?.stringValue.flatMap(ISODate.parse) { row.merge(Self.time(created, now: now())) { $1 } }
                    return row
                }
                var fields: [String: Any] = ["slug": slug, "slugQuery": Self.query(slug), "title": job["title"]?.stringValue ?? "",
                                             "latest": job["latestVersion"]?.stringValue ?? "", "versions": versions, "nav_jobs": true]
                if let dispatcher = job["dispatcher"], dispatcher != .null {
                    fields["event"] = Self.trigger(dispatcher["event"] ?? .null)
                    if let filter = dispatcher["payloadFilter"], filter != .null, filter != [:] { fields["filter"] = filter.jsonString() }
                    fields["enabled"] = dispatcher["enabled"] == .bool(true)
                }
                if let schedule = job["schedule"], schedule != .null {
                    fields["schedule"] = Self.trigger(schedule["schedule"]?["options"] ?? .null)
                    if let next = schedule["nextRunAt"]?.stringValue.flatMap(ISODate.parse) {
                        fields["nextRun"] = ["at": ISODate.format(next), "in": Self.until(next.timeIntervalSince(now()))]
                    }
                }
                let runs = try await deps.runs.runs(environment: viewer.environment, jobSlug: slug, status: nil, limit: 20).map(runRow)
                fields["runs"] = runs
                fields["hasRuns"] = !runs.isEmpty
                return page(slug, "job", fields, viewer: viewer)
            }
        }

        router.get("/queue") { request, _ in
            try await signedIn(request) { viewer in
                let scope = viewer.environment.id.lowercasedString
                let queues = try await deps.queue.counts(scope: scope).map { queue -> [String: Any] in
                    var row: [String: Any] = ["name": queue.queueName ?? "(none)"]
                    for state in JobState.allCases { row[state.rawValue] = queue.counts[state] ?? 0 }
                    return row
                }
                let dead = try await deps.queue.jobs(state: .dead, scope: scope, limit: 100, newestFirst: true).map { job -> [String: Any] in
                    ["id": String(job.id), "task": job.taskIdentifier, "queue": job.queueName ?? "", "attempts": job.attempts,
                     "error": job.lastError ?? "", "payload": job.payload]
                        .merging(Self.time(job.updatedAt, now: now())) { $1 }
                }
                return page("Queue", "queue", ["queues": queues, "hasQueues": !queues.isEmpty, "dead": dead, "hasDead": !dead.isEmpty,
                                               "nav_queue": true], viewer: viewer, flash: request.uri.queryParameters.get("flash"))
            }
        }
        router.post("/queue/:id/retry") { request, context in
            try await signedIn(request, form: try await Self.form(request, context)) { viewer in
                guard let id = Int64(try context.parameters.require("id")) else { throw QueueError.jobNotFound(0) }
                let message: String
                do {
                    let job = try await deps.queue.retry(id: id, scope: viewer.environment.id.lowercasedString)
                    message = "Job \(job.id) (\(job.taskIdentifier)) queued to run again."
                } catch QueueError.jobIsRunning {
                    message = "Job \(id) is running already."
                }
                return Self.redirect("/queue?flash=\(Self.query(message))")
            }
        }

        router.get("/runs") { request, _ in
            try await signedIn(request) { viewer in
                let job = request.uri.queryParameters.get("job").flatMap { $0.isEmpty ? nil : $0 }
                let statusText = request.uri.queryParameters.get("status").flatMap { $0.isEmpty ? nil : $0 }
                let status = statusText.flatMap(RunStatus.init(rawValue:))
                let runs: [JobRun]
                do {
                    runs = try await deps.runs.runs(environment: viewer.environment, jobSlug: job, status: status, limit: 100)
                } catch RunServiceError.jobNotFound {
                    runs = []
                }
                let rows = runs.map(runRow)
                let statuses = RunStatus.allCases.map { ["value": $0.rawValue, "selected": $0 == status] as [String: Any] }
                return page("Runs", "runs", ["runs": rows, "hasRuns": !rows.isEmpty, "showJob": true, "job": job ?? "", "statuses": statuses,
                                             "filtered": job != nil || status != nil, "chart": Charts.runsPerHour(runs, now: now()), "nav_runs": true],
                            viewer: viewer)
            }
        }
        router.get("/runs/:id") { request, context in
            try await signedIn(request) { viewer in
                guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw RunServiceError.runNotFound }
                let run = try await deps.runs.run(id: id, environment: viewer.environment)
                let tasks = try await deps.runs.tasks(runId: run.id)
                let event = try await deps.runs.event(of: run)
                let live = !run.status.isFinished
                let failed = run.status == .failure || run.status == .timedOut
                return page("\(run.jobSlug) #\(run.number)", "run", Self.status(run.status.rawValue).merging(Self.time(run.createdAt, now: now())) { $1 }.merging([
                    "job": run.jobSlug, "number": run.number, "version": run.version, "executions": run.executionCount, "live": live,
                    "took": run.completedAt.map { Self.duration($0.timeIntervalSince(run.startedAt ?? run.createdAt)) } ?? "…",
                    "tasks": TaskTree.html(tasks), "timeline": Charts.timeline(tasks, now: now()),
                    "eventName": event?.name ?? "", "payload": event.map { Self.pretty($0.payload) } ?? "",
                    "outputTitle": failed ? "Error" : "Output", "output": run.output.map(Self.pretty) ?? (live ? "(running)" : "(none)"),
                    "nav_runs": true,
                ]) { $1 }, viewer: viewer, refresh: live ? 2 : nil)
            }
        }
    }

    // MARK: Pages

    func runRow(_ run: JobRun) -> [String: Any] {
        Self.status(run.status.rawValue).merging(Self.time(run.createdAt, now: now())) { $1 }.merging([
            "id": run.id.lowercasedString, "job": run.jobSlug, "number": run.number,
            "took": run.completedAt.map { Self.duration($0.timeIntervalSince(run.startedAt ?? run.createdAt)) } ?? "…",
        ]) { $1 }
    }

    func page(_ title: String, _ template: String, _ context: [String: Any], viewer: Viewer?, flash: String? = nil, refresh: Int? = nil,
              status: HTTPResponse.Status = .ok) -> Response {
        var layout: [String: Any] = ["title": title, "content": Templates.render(template, context.merging(["csrf": viewer?.csrf ?? ""]) { $1 })]
        if let viewer {
            layout["environment"] = ["id": viewer.environment.id.lowercasedString, "slug": viewer.environment.slug,
                                     "organization": viewer.environment.organization.title, "project": viewer.environment.project.name]
            layout["csrf"] = viewer.csrf
        }
        for (key, value) in context where key.hasPrefix("nav_") { layout[key] = value }
        if let flash { layout["flash"] = flash }
        if let refresh { layout["refresh"] = refresh }
        return Response(status: status, headers: Self.htmlHeaders, body: .init(byteBuffer: ByteBuffer(string: Templates.render("layout", layout))))
    }

    /// Runs `body` for the signed-in environment; without a valid session, to the sign-in page. A form
    /// (every POST) must carry the session's CSRF token.
    func signedIn(_ request: Request, form: [String: String]? = nil, _ body: (Viewer) async throws -> Response) async throws -> Response {
        guard let session = signer.session(in: request, now: now()),
              let environment = try await tenancy.environment(id: session.environmentId) else { return Self.redirect("/login") }
        if let form, !signer.checkCSRF(form["csrf"], session: session) { return Self.forbidden() }
        do {
            return try await body(Viewer(session: session, environment: environment, csrf: signer.csrfToken(for: session)))
        } catch let error as RunServiceError {
            return page("Not found", "notFound", ["message": error.description], viewer: Viewer(session: session, environment: environment,
                                                                                                csrf: signer.csrfToken(for: session)), status: .notFound)
        } catch let error as EndpointServiceError {
            let viewer = Viewer(session: session, environment: environment, csrf: signer.csrfToken(for: session))
            return page("Not found", "notFound", ["message": error.description], viewer: viewer, status: .notFound)
        } catch let error as QueueError {
            let viewer = Viewer(session: session, environment: environment, csrf: signer.csrfToken(for: session))
            return page("Not found", "notFound", ["message": error.description], viewer: viewer, status: .notFound)
        }
    }

    static let htmlHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        // Only this server's own stylesheet and the page's inline script; nothing from elsewhere.
        .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    ]

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func forbidden() -> Response {
        Response(status: .forbidden, headers: htmlHeaders,
                 body: .init(byteBuffer: ByteBuffer(string: "<!doctype html><title>Forbidden</title><p>This form expired or did not come from this dashboard. Go back, reload and try again.</p>")))
    }

    static func form(_ request: Request, _ context: APIRequestContext) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 * 1024)
        return FormBody.parse(String(buffer: body))
    }

    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https" || request.head.scheme == "https"
    }

    static func path(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? text }
    static func query(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    // MARK: Values as shown

    static func status(_ status: String) -> [String: Any] {
        let kind: String
        switch status {
        case "SUCCESS", "COMPLETED", "ACTIVE", "REGISTERED": kind = "ok"
        case "FAILURE", "ERRORED", "TIMED_OUT", "DISABLED", "FAILED": kind = "bad"
        case "EXECUTING", "RUNNING", "PENDING": kind = "run"
        default: kind = "wait"
        }
        return ["status": status, "statusClass": kind]
    }

    /// Relative for the eye, UTC for the hover (`title`) and for machines (`datetime`).
    static func time(_ date: Date, now: Date) -> [String: Any] {
        ["at": ISODate.format(date), "ago": ago(now.timeIntervalSince(date))]
    }

    static func ago(_ seconds: TimeInterval) -> String {
        switch seconds {
        case ..<5: "just now"
        case ..<60: "\(Int(seconds)) s ago"
        case ..<3600: "\(Int(seconds / 60)) min ago"
        case ..<86400: "\(Int(seconds / 3600)) h ago"
        default: "\(Int(seconds / 86400)) d ago"
        }
    }

    static func until(_ seconds: TimeInterval) -> String {
        seconds < 5 ? "due now" : "in " + ago(seconds).replacingOccurrences(of: " ago", with: "")
    }

    static func duration(_ seconds: TimeInterval) -> String {
        switch seconds {
        case ..<1: "\(Int(seconds * 1000)) ms"
        case ..<60: String(format: "%.1f s", seconds)
        case ..<3600: "\(Int(seconds / 60)) min \(Int(seconds) % 60) s"
        default: "\(Int(seconds / 3600)) h \(Int(seconds / 60) % 60) min"
        }
    }

    static func stats(_ stats: JSONValue) -> String {
        guard case .object(let object) = stats else { return "" }
        return object.sorted { $0.key < $1.key }.compactMap { key, value in value.numberValue.map { "\(key) \(Int($0))" } }.joined(separator: ", ")
    }

    static func trigger(_ trigger: JSONValue) -> String {
        if case .string(let text) = trigger { return text }
        if case .object(let object) = trigger {
            return object.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.stringValue ?? $0.value.jsonString())" }.joined(separator: ", ")
        }
        return trigger == .null ? "" : trigger.jsonString()
    }

    /// JSON as the one printer writes it (the API's form), for a `<pre>`.
    static func pretty(_ value: JSONValue) -> String { value.jsonString() }
}
