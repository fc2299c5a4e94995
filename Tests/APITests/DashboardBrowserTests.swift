import Foundation
import JSON
import NIOConcurrencyHelpers
import Runs
import Testing
import TestSupport

/// The dashboard in a real browser (headless Chromium through WebDriver), as a person uses it: sign
/// in, look at endpoints, re-index, follow a run to its tasks, on a desktop and a 375 px phone.
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
                #expect(try await browser.currentURL().hasSuffix("/endpoints"))
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

                // A phone: nothing wider than the screen but the tables, which scroll in their box.
                try await browser.resize(width: 375, height: 800)
                let overflow = try await browser.script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                #expect(overflow.numberValue == 0, "the run page fits 375 px")
                try await browser.screenshot(to: "\(Self.screenshots)/run-375.png")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }
}
