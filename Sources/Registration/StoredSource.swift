import Foundation
import JSON
import Secrets
import Storage

/// A registered trigger source as activation and dynamic-trigger registration read it, with its HTTP
/// secret opened: the one read of `trigger_sources` joined to its integration and secret.
public struct StoredSource: Sendable {
    public let id: UUID
    public let key: String
    public let params: JSONValue?
    public let active: Bool
    public let channel: String
    public let channelData: JSONValue?
    public let environmentId: UUID
    public let integrationSlug: String
    /// The stored secret as it is in `secret_store`: `{"sealed"}` from registration, or `{"secret"}`
    /// as trigger.dev stored it.
    public let storedSecret: JSONValue?

    public static func read(id: UUID, in executor: any SQLExecutor) async throws -> StoredSource? {
        try await executor.queryFirst("""
            SELECT s.key, s.params, s.active, s.channel, s.channel_data, s.environment_id, i.slug AS integration_slug, st.value AS secret
            FROM trigger_sources s JOIN integrations i ON i.id = s.integration_id
            JOIN secret_references sr ON sr.id = s.secret_reference_id LEFT JOIN secret_store st ON st.key = sr.key
            WHERE s.id = \(id)
            """).map { row in
            StoredSource(id: id, key: try row.decode("key"), params: try row.json("params"), active: try row.decode("active"),
                         channel: try row.decode("channel"), channelData: try row.json("channel_data"),
                         environmentId: try row.decode("environment_id"), integrationSlug: try row.decode("integration_slug"),
                         storedSecret: try row.json("secret"))
        }
    }

    /// The HTTP secret in clear, from either stored form; nil when there is none.
    public static func openSecret(_ stored: JSONValue?, with secrets: SecretBox) throws -> String? {
        if let sealed = stored?["sealed"]?.stringValue { return try secrets.open(sealed) }
        return stored?["secret"]?.stringValue
    }
}
