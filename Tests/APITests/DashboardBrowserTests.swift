import Foundation
import JSON
import NIOConcurrencyHelpers
import Runs
import Testing
import TestSupport

/// The dashboard in a real browser (headless Chromium through WebDriver), as a person uses it: sign
/// in, look at endpoints, re-index, follow a run to its tasks, open a job, retry a dead queue job, on a
/// desktop and a 375 px phone, and sign in again with a one-time link.
/// Screenshots go to `.build/dashboard-screenshots/` for review.
@Suite(.serialized) struct DashboardBrowserTests {
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/dashboard-screenshots").path

    @Test(.enabled(if: WebDriver.unavailable == nil, Comment(rawValue: WebDriver.unavailable ?? "")))
    func aPersonSignsInReindexesAndFollowsARun() async throws {
        try await TestStack.run(.sqlite) { stack, client in
            let env = try await stack.environment()
            let base = "http://127.0.0.1:\(client.port!)"
            let server = try await ScriptedEndpoint.start(stack, client, environment: env, jobs: [
                ScriptedEndpoint.job("send-welcome-email", event: "user.created"),
            ]) { body in
                let runId = body["run"]?["id"]?.stringValue ?? ""
                // A task, as io.runTask makes one, so the run page has a tree to show.
                let task = try await stack.runs.runTask(runId: UUID(uuidString: runId)!, idempotencyKey: "load-user",
                                                        body: try .decode(["idempotencyKey": "k", "name": "Load user", "noop": false]),
                                                        environment: env)
                _ = try await stack.runs.completeTask(runId: task.runId, taskId: task.id, output: ["id": "u_1"], environment: env)
                return .json(200, #"{"status":"SUCCESS","output":{"ok":true}}"#)
            }
            defer { Task { await server.stop() } }
            try await stack.send(client, env, "user.created", payload: ["userId": "u_1"])
            let run = try #require(try await stack.finishedRuns(env, count: 1).first)

            let browser = try await WebDriver()
            do {
                try await browser.open(base + "/")
                #expect(try await browser.currentURL().hasSuffix("/login"))
                try await browser.type("#apiKey", "tr_dev_wrong_key_000000")
                try await browser.click("#sign-in")
                #expect(try await browser.text(".error").contains("not the secret key"))
                try await browser.type("#apiKey", env.apiKey)
                try await browser.click("#sign-in")
                #expect(try await browser.waitForURL(suffix: "/endpoints").hasSuffix("/endpoints"))
                let endpoints = try await browser.text()
                #expect(endpoints.contains("my-endpoint") && endpoints.contains("SUCCESS"), "\(endpoints)")
                try await browser.screenshot(to: "\(Self.screenshots)/endpoints.png")

                try await browser.click("a[href='/endpoints/my-endpoint']")
                #expect(try await browser.text("h1") == "my-endpoint")
                let before = try await browser.count("#indexes tbody tr")
                try await browser.click("#reindex")
                #expect(try await browser.text(".flash").contains("Re-index requested"))
                #expect(try await browser.count("#indexes tbody tr") == before + 1, "the new index is in the history")
                try await browser.screenshot(to: "\(Self.screenshots)/endpoint.png")

                try await browser.click("nav a[href='/jobs']")
                #expect(try await browser.text("table").contains("send-welcome-email"))
                try await browser.click("nav a[href='/runs']")
                try await browser.click("a[href='/runs/\(run.id.lowercasedString)']")
                #expect(try await browser.text("#run-status") == "SUCCESS")
                #expect(try await browser.text("#tasks").contains("Load user"))
                #expect(try await browser.text("#payload").contains("u_1"))
                #expect(try await browser.text("#output").contains(#""ok":true"#))
                #expect(try await browser.count("svg.timeline rect") == 1)
                // Times read relative, with the UTC instant on hover.
                #expect(try await browser.script("return document.querySelector('time').getAttribute('title')").stringValue?.hasSuffix("Z") == true)
                try await browser.screenshot(to: "\(Self.screenshots)/run.png")

                // The job's own page: its versions and this run.
                try await browser.click("nav a[href='/jobs']")
                try await browser.click("a[href='/jobs/send-welcome-email']")
                #expect(try await browser.text("h1") == "send-welcome-email")
                #expect(try await browser.text("#versions").contains("1.0.0"))
                #expect(try await browser.count("#job-runs tbody tr") == 1)

                // The queue: a job that ran out of attempts, retried with a click.
                let dead = try await stack.queue.enqueue("resize-avatar", payload: ["n": 1], options: .init(maxAttempts: 1, scope: env.id.lowercasedString))
                #expect(try await eventually { try await stack.queue.job(id: dead)?.state(now: Date()) == .dead })
                try await browser.click("nav a[href='/queue']")
                #expect(try await browser.text("#dead").contains("resize-avatar"))
                try await browser.screenshot(to: "\(Self.screenshots)/queue.png")
                try await browser.click("#retry-\(dead)")
                #expect(try await browser.text(".flash").contains("Job \(dead) (resize-avatar) queued to run again"))
                #expect(try await eventually { try await stack.queue.job(id: dead)?.attempts == 2 }, "it ran again")
                try await browser.open(base + "/runs/\(run.id.lowercasedString)")

                // A phone: nothing wider than the screen but the tables, which scroll in their box.
                try await browser.resize(width: 375, height: 800)
                let overflow = try await browser.script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                #expect(overflow.numberValue == 0, "the run page fits 375 px")
                try await browser.screenshot(to: "\(Self.screenshots)/run-375.png")

                // Signed out, a one-time link from `kongflow dashboard-link` signs in again.
                try await browser.click(".signout button")
                #expect(try await browser.waitForURL(suffix: "/login").hasSuffix("/login"))
                let link = try await client.call(.post, "/api/v1/dashboard/links", key: env.apiKey)
                try await browser.open(base + (link.json["path"]?.stringValue ?? "/missing"))
                try await browser.click("#use-link")
                #expect(try await browser.waitForURL(suffix: "/endpoints").hasSuffix("/endpoints"))
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }
}
