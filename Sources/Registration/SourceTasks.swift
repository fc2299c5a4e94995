import Foundation
import Queue
import Storage

/// Webhook sources (docs/spec/trigger-v2-runs.md §7) go through the queue: registration plans an
/// `activateSource` (which runs the SDK's generated registration job), and every webhook received is
/// a `deliverHttpSourceRequest`. The run engine handles both (`RunEngine+Sources`).
public enum SourceTasks {
    public static let activate = "activateSource"
    public static let deliver = "deliverHttpSourceRequest"
    /// A webhook is retried for about a day (the queue's backoff) before it is given up.
    public static let deliveryAttempts = 25

    public struct ActivatePayload: Codable, Sendable, Equatable {
        public let id: UUID
        public let orphanedEvents: [String]
        public init(id: UUID, orphanedEvents: [String]) {
            self.id = id
            self.orphanedEvents = orphanedEvents
        }
    }

    public struct DeliverPayload: Codable, Sendable, Equatable {
        /// The `http_source_requests` row.
        public let id: UUID
        public init(id: UUID) { self.id = id }
    }

    /// Plans the source's activation in `tx`; a pending one is replaced, so a burst of re-indexes
    /// activates once.
    public static func planActivation(sourceId: UUID, environmentId: UUID, orphanedEvents: [String], queue: JobQueue, in tx: any Transaction) async throws {
        try await queue.enqueue(activate, payload: ActivatePayload(id: sourceId, orphanedEvents: orphanedEvents),
                                options: JobOptions(maxAttempts: 3, jobKey: "activate-source-\(sourceId.lowercasedString)",
                                                    scope: environmentId.lowercasedString), in: tx)
    }
}
