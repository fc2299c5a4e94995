import Foundation
import JSON
import Storage
import Tenancy
import TriggerProtocol

/// The run protocol an endpoint speaks, chosen from the `trigger-version` it reported (PING, INDEX,
/// and every EXECUTE_JOB answer), as the webapp gated it: `version >= "2023-09-29"`.
///
/// - `unversioned`: SDK 2.0 (no version header). EXECUTE_JOB carries every completed task with its
///   task id, plus the task being resumed; the SDK re-posts logs and waits on replay.
/// - `lazyCachedTasks`: SDK 2.3 (2023-09-29 and later). EXECUTE_JOB carries completed non-noop tasks
///   keyed by idempotency key within a size bound (more on request through `runTask`), a bloom filter
///   of completed noop tasks, the yielded executions and the execution time budget; the SDK answers
///   with the later `RunJobResponse` variants (yields, cancellation, auth and payload errors).
public enum RunProtocol: Sendable, Equatable {
    case unversioned
    case lazyCachedTasks

    public static let lazyCachedTasksVersion = "2023-09-29"

    public init(endpointVersion: String) {
        self = Self.isAPIVersion(endpointVersion) && endpointVersion >= Self.lazyCachedTasksVersion ? .lazyCachedTasks : .unversioned
    }

    /// `YYYY-MM-DD`: trigger.dev's API versions are dates, compared as strings.
    static func isAPIVersion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && zip(parts, [4, 2, 2]).allSatisfy { $0.count == $1 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}

extension RunEngine {
    /// The webapp's bounds: the characters of completed tasks sent in one EXECUTE_JOB body, and
    /// per lazy page (with at most `cachedTasksPageSize` tasks).
    public static let cachedTasksBodyLimit = 3_500_000
    static let cachedTasksPageLimit = 2_000_000
    static let cachedTasksPageSize = 250
    /// `MAX_JOB_RUN_EXECUTION_COUNT`: yields re-execute at once, so a run that yields forever ends here.
    public static let maximumExecutions = 250
    /// The SDK stops this long before the endpoint's budget, to answer in time.
    static let runChunkMargin = 350

    /// The completed tasks a 2023-09-29 EXECUTE_JOB carries: non-noop ones (ordered by id, within
    /// `limit` characters, with the id of the first left out as the cursor), and the noop ones as a set.
    func cachedTasks(runId: UUID, after cursor: String?, limit: Int, count: Int = .max, in executor: any SQLExecutor)
        async throws -> (tasks: [CachedTask], cursor: String?, noop: NoopTaskSet) {
        let rows = try await executor.query("""
            SELECT id, idempotency_key, status, noop, output, parent_id FROM tasks
            WHERE run_id = \(runId) AND status = 'COMPLETED' AND id >= \(cursor ?? "")
            ORDER BY id
            """)
        var tasks: [CachedTask] = [], noop = NoopTaskSet(), size = 0, next: String? = nil
        for row in rows {
            let key: String = try row.decode("idempotency_key")
            if try row.decode("noop", as: Bool.self) {
                noop.insert(key)
                continue
            }
            guard next == nil else { continue }
            let task = CachedTask(id: try row.decode("id"), idempotencyKey: key, status: "COMPLETED", noop: false,
                                  output: try row.json("output"), parentId: try row.decodeIfPresent("parent_id"), keyedByIdempotencyKey: true)
            if tasks.count >= count || size + task.encodedSize > limit {
                next = task.id
                continue
            }
            size += task.encodedSize
            tasks.append(task)
        }
        return (tasks, next, noop)
    }

    /// `runTask`'s lazy page for SDK 2.3 (`x-cached-tasks-cursor`): the next completed non-noop tasks
    /// from `cursor` on, and where the page after starts.
    public func cachedTasksPage(runId: UUID, cursor: String, environment: AuthenticatedEnvironment) async throws -> (tasks: [CachedTask], cursor: String?) {
        guard try await database.queryFirst("SELECT id FROM job_runs WHERE id = \(runId) AND environment_id = \(environment.id)") != nil else {
            throw RunServiceError.runNotFound
        }
        let page = try await cachedTasks(runId: runId, after: cursor, limit: Self.cachedTasksPageLimit, count: Self.cachedTasksPageSize, in: database)
        return (page.tasks, page.cursor)
    }
}
