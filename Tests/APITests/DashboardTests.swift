import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import JSON
import NIOCore
import NIOHTTP1
import Runs
import Storage
import Testing
import TestSupport

/// The dashboard over HTTP: sign-in and its cookie, every page, escaping of what endpoints and events
/// send, CSRF, and environment isolation. (What a person sees in a browser is `DashboardBrowserTests`.)
@Suite struct DashboardTests {
    /// A browser's view of the server: follows nothing, keeps the session cookie.
    struct Browser {
        let base: String
        var cookie: String?
        /// Redirects are looked at, not followed.
        static let http: HTTPClient = {
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }()

        func get(_ path: String) async throws -> (status: Int, html: String, headers: HTTPHeaders) {
            var request = HTTPClientRequest(url: base + path)
            if let cookie { request.headers.add(name: "cookie", value: cookie) }
            let response = try await Self.http.execute(request, timeout: .seconds(30))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 8 << 20)), response.headers)
        }

        func post(_ path: String, form: [String: String]) async throws -> (status: Int, html: String, headers: HTTPHeaders) {
            var request = HTTPClientRequest(url: base + path)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
            if let cookie { request.headers.add(name: "cookie", value: cookie) }
            let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await Self.http.execute(request, timeout: .seconds(30))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 8 << 20)), response.headers)
        }

        static func csrf(in html: String) -> String? {
            guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    static let hostile = #""><img src=x onerror=alert(1)><script>alert(2)</script>"#

    @Test(arguments: Backend.available)
    func signInPagesEscapingCSRFAndIsolation(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let base = "http://127.0.0.1:\(client.port!)"
            var browser = Browser(base: base)
            // Signed out: every page sends you to sign in.
            for path in ["/", "/endpoints", "/jobs", "/runs", "/runs/\(UUID().uuidString)"] {
                let page = try await browser.get(path)
                #expect(page.status == 303 && page.headers.first(name: "location") == "/login", "\(path)")
            }
            let login = try await browser.get("/login")
            #expect(login.status == 200 && login.html.contains(#"<input id="apiKey" name="apiKey" type="password""#))
            #expect(login.headers.first(name: "content-security-policy")?.contains("default-src 'self'") == true)
            let wrong = try await browser.post("/login", form: ["apiKey": "tr_dev_nope"])
            #expect(wrong.status == 401 && wrong.html.contains("not the secret key") && wrong.headers.first(name: "set-cookie") == nil)
            let signedIn = try await browser.post("/login", form: ["apiKey": env.apiKey])
            #expect(signedIn.status == 303 && signedIn.headers.first(name: "location") == "/endpoints")
            let setCookie = try #require(signedIn.headers.first(name: "set-cookie"))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/") && !setCookie.contains("Secure"))
            #expect(!setCookie.contains(env.apiKey), "the key is not in the cookie")
            browser.cookie = String(setCookie.prefix { $0 != ";" })

            // Empty states say what to run.
            #expect(try await browser.get("/endpoints").html.contains("kongflow endpoints create"))
            #expect(try await browser.get("/jobs").html.contains("kongflow endpoints index"))
            #expect(try await browser.get("/runs").html.contains("kongflow events send"))

            // An endpoint whose job and event carry markup, and a run of it.
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("hostile-job", event: "hostile"),
            ]) { body in
                .json(200, JSONValue.object(["status": "SUCCESS", "output": ["echo": body["event"]?["payload"]?["name"] ?? .null]]).jsonString())
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "hostile", payload: ["name": .string(Self.hostile)])
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)

            let endpoints = try await browser.get("/endpoints")
            #expect(endpoints.status == 200 && endpoints.html.contains(#"<a href="/endpoints/my-endpoint">my-endpoint</a>"#) && endpoints.html.contains("SUCCESS"))
            let endpoint = try await browser.get("/endpoints/my-endpoint")
            #expect(endpoint.html.contains("/api/v1/endpoints/\(env.id.lowercasedString)/my-endpoint/index/") && endpoint.html.contains("data-copy="))
            #expect(try await browser.get("/jobs").html.contains("hostile-job"))
            let runs = try await browser.get("/runs?job=hostile-job")
            #expect(runs.html.contains("/runs/\(run.id.lowercasedString)") && runs.html.contains("<svg class=\"chart\""))
            #expect(runs.html.contains(">hostile-job #1</a>"), "the runs page names each run's job")
            let runPage = try await browser.get("/runs/\(run.id.lowercasedString)")
            #expect(runPage.status == 200 && runPage.html.contains("SUCCESS"))
            #expect(!runPage.html.contains("<img src=x") && !runPage.html.contains("<script>alert(2)"), "payloads are shown as text")
            #expect(runPage.html.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(!runPage.html.contains(#"http-equiv="refresh""#), "a finished run does not refresh")

            // CSRF: a form without the session's token changes nothing.
            let indexes = try await stack.count("endpoint_indexes")
            #expect(try await browser.post("/endpoints/my-endpoint/reindex", form: [:]).status == 403)
            #expect(try await browser.post("/endpoints/my-endpoint/reindex", form: ["csrf": "forged"]).status == 403)
            #expect(try await stack.count("endpoint_indexes") == indexes)
            let token = try #require(Browser.csrf(in: endpoint.html))
            let reindexed = try await browser.post("/endpoints/my-endpoint/reindex", form: ["csrf": token])
            #expect(reindexed.status == 303 && reindexed.headers.first(name: "location")?.hasPrefix("/endpoints/my-endpoint?flash=") == true)
            #expect(try await stack.count("endpoint_indexes") == indexes + 1)

            // Another environment sees none of it, and its session cannot reach this one's run.
            let other = try await stack.environment(.production)
            var otherBrowser = Browser(base: base)
            let otherLogin = try await otherBrowser.post("/login", form: ["apiKey": other.apiKey])
            otherBrowser.cookie = otherLogin.headers.first(name: "set-cookie").map { String($0.prefix { $0 != ";" }) }
            #expect(try await otherBrowser.get("/runs/\(run.id.lowercasedString)").status == 404)
            #expect(try await otherBrowser.get("/endpoints/my-endpoint").status == 404)
            #expect(!(try await otherBrowser.get("/runs").html.contains("hostile-job")))
            // A tampered cookie is no session.
            var tampered = browser
            tampered.cookie = browser.cookie.map { $0.replacingOccurrences(of: env.id.lowercasedString, with: other.id.lowercasedString) }
            #expect(try await tampered.get("/runs").status == 303)

            // Sign out needs the token too, and clears the cookie.
            #expect(try await browser.post("/logout", form: [:]).status == 403)
            let out = try await browser.post("/logout", form: ["csrf": token])
            #expect(out.status == 303 && out.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
        }
    }

    /// The queue page (this environment's jobs only, dead ones retried through a CSRF-checked form),
    /// the job page, and the one-time sign-in link of `kongflow dashboard-link`.
    @Test(arguments: Backend.available)
    func queueJobPagesAndOneTimeLinks(_ backend: Backend) async throws {
        try await TestStack.run(backend) { stack, client in
            let env = try await stack.environment()
            let other = try await stack.environment(.production)
            let base = "http://127.0.0.1:\(client.port!)"

            // A one-time link signs in once; the GET alone does not use it up.
            let link = try await client.call(.post, "/api/v1/dashboard/links", key: env.apiKey)
            let path = try #require(link.json["path"]?.stringValue, "\(link.text)")
            #expect(link.status == .ok && path.hasPrefix("/login/link?token=kfl_"))
            var browser = Browser(base: base)
            let landing = try await browser.get(path)
            #expect(landing.status == 200 && landing.headers.first(name: "set-cookie") == nil && landing.html.contains(#"id="use-link""#))
            let token = String(path.dropFirst("/login/link?token=".count))
            let used = try await browser.post("/login/link", form: ["token": token])
            #expect(used.status == 303 && used.headers.first(name: "location") == "/endpoints")
            browser.cookie = used.headers.first(name: "set-cookie").map { String($0.prefix { $0 != ";" }) }
            #expect(try await browser.get("/queue").status == 200)
            let again = try await browser.post("/login/link", form: ["token": token])
            #expect(again.status == 401 && again.headers.first(name: "set-cookie") == nil && again.html.contains("used already"))
            #expect(try await Browser(base: base).post("/login/link", form: ["token": "kfl_forged"]).status == 401)
            #expect(try await client.call(.post, "/api/v1/dashboard/links").status == .unauthorized)

            // Empty queue: it says what fills it.
            #expect(try await browser.get("/queue").html.contains("Nothing is queued"))

            // A job of each environment that runs out of attempts (no worker knows its task).
            let mine = try await stack.queue.enqueue(Self.hostile, payload: ["n": 1], options: .init(maxAttempts: 1, scope: env.id.lowercasedString))
            let theirs = try await stack.queue.enqueue("their-task", payload: ["n": 2], options: .init(maxAttempts: 1, scope: other.id.lowercasedString))
            #expect(try await eventually { try await stack.queue.jobs(state: .dead).count == 2 })
            let queuePage = try await browser.get("/queue")
            #expect(queuePage.html.contains(#"id="retry-\#(mine)""#) && !queuePage.html.contains("retry-\(theirs)") && !queuePage.html.contains("their-task"))
            #expect(!queuePage.html.contains("<script>alert(2)") && queuePage.html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "task names and errors are text")
            #expect(queuePage.html.contains("<td>1</td>"), "the dead count")

            // Retry: refused without the form's token, another environment's job is not found, then it runs again.
            #expect(try await browser.post("/queue/\(mine)/retry", form: [:]).status == 403)
            let csrf = try #require(Browser.csrf(in: queuePage.html))
            #expect(try await browser.post("/queue/\(theirs)/retry", form: ["csrf": csrf]).status == 404)
            #expect(try await stack.queue.job(id: theirs)?.attempts == 1)
            let retried = try await browser.post("/queue/\(mine)/retry", form: ["csrf": csrf])
            #expect(retried.status == 303 && retried.headers.first(name: "location")?.hasPrefix("/queue?flash=Job%20\(mine)") == true)
            #expect(try await eventually { try await stack.queue.job(id: mine).map { $0.attempts == 2 && $0.lockedAt == nil } == true },
                    "the retried job ran once more")

            // The job page: versions and recent runs; unknown and other environments' jobs are 404.
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [ScriptedEndpoint.job("ping-job", event: "ping", filter: ["kind": ["a"]])]) { _ in
                .json(200, #"{"status":"SUCCESS","output":{"ok":true}}"#)
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "ping", payload: ["kind": "a"])
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)
            let jobPage = try await browser.get("/jobs/ping-job")
            #expect(jobPage.status == 200 && jobPage.html.contains(#"<table id="versions""#) && jobPage.html.contains("1.0.0"))
            #expect(jobPage.html.contains("/runs/\(run.id.lowercasedString)\">#1</a>") && jobPage.html.contains("&quot;kind&quot;"), "recent runs and the filter")
            #expect(try await browser.get("/jobs").html.contains(#"<a href="/jobs/ping-job">"#))
            #expect(try await browser.get("/jobs/nope").status == 404)
            var otherBrowser = Browser(base: base)
            let otherLogin = try await otherBrowser.post("/login", form: ["apiKey": other.apiKey])
            otherBrowser.cookie = otherLogin.headers.first(name: "set-cookie").map { String($0.prefix { $0 != ";" }) }
            #expect(try await otherBrowser.get("/jobs/ping-job").status == 404)
            #expect(try await otherBrowser.get("/queue").html.contains("retry-\(theirs)"))
        }
    }
}
