import Foundation
import NIOConcurrencyHelpers
import Testing

/// Names a test that stopped making progress. A hung test otherwise holds the whole run until CI's
/// own deadline and says nothing about which test or which step it was in (a CI run was lost that
/// way). A plain thread, not a task: it must still report when the cooperative pool is stuck.
///
/// After `KONGFLOW_TEST_HANG_WARN` seconds (default 240) a test's name and current step are printed;
/// after `KONGFLOW_TEST_HANG_LIMIT` seconds (default 600) every watched test is printed and the
/// process exits with status 86, so the run fails with the culprit named instead of timing out.
public enum Watchdog {
    struct Entry {
        var name: String
        let started: ContinuousClock.Instant
        var step: String
        var warned = false
    }

    private static let entries = NIOLockedValueBox<[UUID: Entry]>([:])
    @TaskLocal static var current: UUID?

    private static let thread: Void = {
        let environment = ProcessInfo.processInfo.environment
        let warn = environment["KONGFLOW_TEST_HANG_WARN"].flatMap(Int.init) ?? 240
        let limit = environment["KONGFLOW_TEST_HANG_LIMIT"].flatMap(Int.init) ?? 600
        Thread.detachNewThread { watch(warn: .seconds(warn), limit: .seconds(limit)) }
    }()

    /// Runs `body` as a watched test, named after the current Swift Testing test and `detail`.
    public static func watch<T>(_ detail: String, _ body: () async throws -> T) async throws -> T {
        _ = thread
        let id = UUID()
        let name = "\(Test.current?.name ?? "unnamed test") [\(detail)]"
        entries.withLockedValue { $0[id] = Entry(name: name, started: .now, step: "started") }
        defer { entries.withLockedValue { _ = $0.removeValue(forKey: id) } }
        return try await $current.withValue(id) { try await body() }
    }

    /// Adds to the current watched test's name (a parameterized test's other arguments).
    public static func describe(_ detail: String) {
        guard let id = current else { return }
        entries.withLockedValue { $0[id]?.name += " [\(detail)]" }
    }

    /// Records the step the current watched test is in.
    public static func step(_ step: String) {
        guard let id = current else { return }
        entries.withLockedValue { $0[id]?.step = step }
    }

    private static func watch(warn: Duration, limit: Duration) {
        while true {
            Thread.sleep(forTimeInterval: 5)
            let now = ContinuousClock.now
            let (late, overdue) = entries.withLockedValue { entries -> ([Entry], Bool) in
                var late: [Entry] = []
                var overdue = false
                for (id, entry) in entries where now - entry.started > warn {
                    if !entry.warned { late.append(entry); entries[id]?.warned = true }
                    if now - entry.started > limit { overdue = true }
                }
                return (late, overdue)
            }
            for entry in late { report("still running after \(now - entry.started)", entry) }
            if overdue {
                for entry in entries.withLockedValue({ Array($0.values) }) { report("running for \(now - entry.started)", entry) }
                report("a test exceeded \(limit); exiting so the run fails with its name instead of hanging", nil)
                exit(86)
            }
        }
    }

    private static func report(_ message: String, _ entry: Entry?) {
        let line = entry.map { "watchdog: \($0.name) \(message), at step: \($0.step)\n" } ?? "watchdog: \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
