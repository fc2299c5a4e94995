import Foundation
import Storage
import TriggerProtocol

/// SQL for endpoints and endpoint indexes. Every read that starts from a request is scoped by
/// environment id, so one environment's key can never reach another's rows.
public struct EndpointRepository: Sendable {
    public init() {}

    /// trigger.dev's hook identifier alphabet (it has no `w`).
    static let hookAlphabet = Array("0123456789abcdefghijklmnopqrstuvxyz")

    static func newHookIdentifier() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<10).map { _ in hookAlphabet[Int.random(in: 0..<hookAlphabet.count, using: &rng)] })
    }

    /// Creates the endpoint or, when the environment already has one with this slug, updates its
    /// url (and revives it if it was deleted). The hook identifier never changes.
    /// Creates or updates the endpoint; the SDK versions its PING reported replace the stored ones
    /// (unknown ones keep what indexing learned).
    func upsert(environmentId: UUID, organizationId: UUID, projectId: UUID, slug: String, url: String,
                version: String?, sdkVersion: String?, now: Date, in tx: any Transaction) async throws -> Endpoint {
        let row = try await tx.queryFirst("""
            INSERT INTO endpoints (id, slug, url, indexing_hook_identifier, environment_id, organization_id, project_id, version, sdk_version, created_at, updated_at)
            VALUES (\(UUID()), \(slug), \(url), \(Self.newHookIdentifier()), \(environmentId), \(organizationId), \(projectId),
                    \(version ?? "unknown"), \(sdkVersion ?? "unknown"), \(now), \(now))
            ON CONFLICT (environment_id, slug) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at, deleted_at = NULL,
                version = CASE WHEN excluded.version = 'unknown' THEN endpoints.version ELSE excluded.version END,
                sdk_version = CASE WHEN excluded.sdk_version = 'unknown' THEN endpoints.sdk_version ELSE excluded.sdk_version END
            RETURNING \(unsafeRaw: Endpoint.columns)
            """)
        guard let row else { throw StorageError.queryFailed("upsert returned no row") }
        return try Endpoint(row: row)
    }

    public func endpoint(environmentId: UUID, slug: String, in executor: any SQLExecutor) async throws -> Endpoint? {
        try await executor.queryFirst("""
            SELECT \(unsafeRaw: Endpoint.columns) FROM endpoints
            WHERE environment_id = \(environmentId) AND slug = \(slug) AND deleted_at IS NULL
            """).map(Endpoint.init)
    }

    func endpointWithEnvironment(id: UUID, in executor: any SQLExecutor) async throws -> EndpointWithEnvironment? {
        guard let row = try await executor.queryFirst("""
            SELECT e.id, e.slug, e.url, e.indexing_hook_identifier, e.environment_id, e.organization_id, e.project_id,
                   e.version, e.sdk_version, e.created_at, e.updated_at, e.deleted_at, r.api_key, r.type AS environment_type
            FROM endpoints e JOIN runtime_environments r ON r.id = e.environment_id
            WHERE e.id = \(id)
            """) else { return nil }
        return EndpointWithEnvironment(endpoint: try Endpoint(row: row), apiKey: try row.decode("api_key"), environmentType: try row.decode("environment_type"))
    }

    func softDelete(endpointId: UUID, now: Date, in executor: any SQLExecutor) async throws {
        try await executor.query("UPDATE endpoints SET deleted_at = \(now), updated_at = \(now) WHERE id = \(endpointId)")
    }

    func updateAfterIndex(endpointId: UUID, url: String?, version: String?, sdkVersion: String?, now: Date, in tx: any Transaction) async throws {
        guard url != nil || version != nil || sdkVersion != nil else { return }
        try await tx.query("""
            UPDATE endpoints SET url = COALESCE(\(url), url), version = COALESCE(\(version), version),
                sdk_version = COALESCE(\(sdkVersion), sdk_version), updated_at = \(now)
            WHERE id = \(endpointId)
            """)
    }

    // MARK: Indexes

    /// Adds a PENDING index for the endpoint or, when it has one already, returns that one; `created`
    /// says which. The unique index on PENDING indexes decides, so concurrent requests need no lock
    /// on the endpoint: one inserts, the others wait for its commit and then read its row. An index that
    /// starts meanwhile no longer conflicts, and then a new one is inserted, as it must be.
    ///
    /// DO NOTHING and a read, not a no-op DO UPDATE that would return the conflicting row in one
    /// statement: that wrote a new version of the row for every request that joined it, and made them
    /// queue on its lock one after another (under the POST benchmark such inserts averaged 7.3 ms).
    func insertOrJoinPendingIndex(endpointId: UUID, source: IndexSource, reason: String?, sourceData: JSONValue?,
                                  now: Date, in tx: any Transaction) async throws -> (index: EndpointIndex, created: Bool) {
        let id = UUID()
        // Twice at most in practice: the PENDING index this request conflicted with can start before it
        // is read, and then there is room for this one.
        for _ in 0..<5 {
            if let row = try await tx.queryFirst("""
                INSERT INTO endpoint_indexes (id, endpoint_id, source, source_data, reason, status, created_at, updated_at)
                VALUES (\(id), \(endpointId), \(source.rawValue), \(sourceData.map { SQLJSON($0.jsonString()) }), \(reason), 'PENDING', \(now), \(now))
                ON CONFLICT (endpoint_id) WHERE status = 'PENDING' DO NOTHING
                RETURNING \(unsafeRaw: EndpointIndex.summaryColumns)
                """) {
                return (try EndpointIndex(row: row), true)
            }
            if let row = try await tx.queryFirst("""
                SELECT \(unsafeRaw: EndpointIndex.summaryColumns) FROM endpoint_indexes
                WHERE endpoint_id = \(endpointId) AND status = 'PENDING'
                """) {
                return (try EndpointIndex(row: row), false)
            }
        }
        throw StorageError.queryFailed("no PENDING index could be added or found for endpoint \(endpointId.lowercasedString)")
    }

    /// When the endpoint's newest index other than `excluding` was created.
    func previousIndexCreatedAt(endpointId: UUID, excluding: UUID, in executor: any SQLExecutor) async throws -> Date? {
        try await executor.queryFirst("""
            SELECT created_at FROM endpoint_indexes WHERE endpoint_id = \(endpointId) AND id <> \(excluding)
            ORDER BY created_at DESC LIMIT 1
            """)?.decode("created_at")
    }

    /// A STARTED index whose call failed goes back to PENDING to be tried again, unless the endpoint
    /// has a newer PENDING index already: that one calls INDEX_ENDPOINT later anyway, so this one ends
    /// as FAILURE with its error. Returns the status it got, nil when it was not STARTED.
    func returnToPending(indexId: UUID, error: IndexFailure, now: Date, in executor: any SQLExecutor) async throws -> IndexStatus? {
        let errorJSON = try SQLJSON(encoding: error)
        // On PostgreSQL a PENDING index inserted but not committed when this looks is not seen; the
        // unique index then fails this statement, and the queue retries the task, which calls again.
        let row = try await executor.queryFirst("""
            UPDATE endpoint_indexes
            SET status = CASE WHEN EXISTS (SELECT 1 FROM endpoint_indexes o WHERE o.endpoint_id = endpoint_indexes.endpoint_id AND o.status = 'PENDING')
                              THEN 'FAILURE' ELSE 'PENDING' END,
                error = \(errorJSON), updated_at = \(now)
            WHERE id = \(indexId) AND status = 'STARTED'
            RETURNING status
            """)
        return try row?.enumeration("status")
    }

    func index(id: UUID, in executor: any SQLExecutor) async throws -> EndpointIndex? {
        try await executor.queryFirst("SELECT \(unsafeRaw: EndpointIndex.columns) FROM endpoint_indexes WHERE id = \(id)").map(EndpointIndex.init)
    }

    /// An index, only if its endpoint belongs to `environmentId`.
    public func index(id: UUID, environmentId: UUID, in executor: any SQLExecutor) async throws -> EndpointIndex? {
        try await executor.queryFirst("""
            SELECT i.id, i.endpoint_id, i.source, i.source_data, i.reason, i.status, i.stats, NULL AS data, i.error, i.created_at, i.updated_at
            FROM endpoint_indexes i JOIN endpoints e ON e.id = i.endpoint_id
            WHERE i.id = \(id) AND e.environment_id = \(environmentId)
            """).map(EndpointIndex.init)
    }

    /// Newest first; `before` is the id of the last index of the previous page. Comparing with the
    /// stored timestamp (not one sent back by the client) keeps paging exact on both backends.
    public func indexes(endpointId: UUID, limit: Int, before: UUID?, in executor: any SQLExecutor) async throws -> [EndpointIndex] {
        var query: SQLQuery = "SELECT \(unsafeRaw: EndpointIndex.summaryColumns) FROM endpoint_indexes WHERE endpoint_id = \(endpointId)"
        if let before {
            query = query + """
                 AND (created_at < (SELECT created_at FROM endpoint_indexes WHERE id = \(before))
                      OR (created_at = (SELECT created_at FROM endpoint_indexes WHERE id = \(before)) AND id < \(before)))
                """
        }
        query = query + " ORDER BY created_at DESC, id DESC LIMIT \(limit)"
        return try await executor.query(query).map(EndpointIndex.init)
    }

    /// An environment's live endpoints (or the one called `slug`), each with its latest index, in one
    /// statement.
    func endpointsWithLatestIndex(environmentId: UUID, slug: String? = nil, in executor: any SQLExecutor) async throws -> [(Endpoint, EndpointIndex?)] {
        try await endpointsWithLatest(environmentId: environmentId, slug: slug, indexColumns: EndpointIndex.qualifiedSummaryColumns, in: executor, EndpointIndex.init)
    }

    /// `endpointsWithLatestIndex` with only the latest index's id and status: the endpoint API's most
    /// frequent read, which shows no more and so decodes no more.
    func endpointsWithLatestIndexState(environmentId: UUID, slug: String? = nil, in executor: any SQLExecutor) async throws -> [(Endpoint, IndexState?)] {
        try await endpointsWithLatest(environmentId: environmentId, slug: slug, indexColumns: "i.id, i.status", in: executor, IndexState.init)
    }

    private func endpointsWithLatest<Index>(environmentId: UUID, slug: String?, indexColumns: String, in executor: any SQLExecutor,
                                            _ index: (SQLRow) throws -> Index) async throws -> [(Endpoint, Index?)] {
        let onlySlug: SQLQuery = slug.map { "AND e.slug = \($0)" } ?? ""
        let rows = try await executor.query("""
            SELECT \(unsafeRaw: Endpoint.qualifiedColumns), \(unsafeRaw: indexColumns) FROM endpoints e
            LEFT JOIN endpoint_indexes i
              ON i.id = (SELECT j.id FROM endpoint_indexes j WHERE j.endpoint_id = e.id ORDER BY j.created_at DESC, j.id DESC LIMIT 1)
            WHERE e.environment_id = \(environmentId) AND e.deleted_at IS NULL \(onlySlug)
            ORDER BY e.slug
            """)
        return try rows.map { try Self.endpointAndIndex($0, index) }
    }

    /// A row of `Endpoint.qualifiedColumns` then an index's columns (NULLs: no index).
    private static func endpointAndIndex<Index>(_ row: SQLRow, _ index: (SQLRow) throws -> Index) throws -> (Endpoint, Index?) {
        let split = Endpoint.columnCount
        let indexPart = row.slice(split..<row.columns.count)
        return (try Endpoint(row: row.slice(0..<split)), indexPart["id"] == .null ? nil : try index(indexPart))
    }

    /// The live endpoint `slug` with its PENDING index (there is at most one), read without a lock:
    /// CreateEndpoint's check for a registration that would change nothing. Only the index's id and
    /// status: that is all the answer shows, and on this hot read every column costs both sides.
    func endpointWithPendingIndex(environmentId: UUID, slug: String, in executor: any SQLExecutor) async throws -> (Endpoint, IndexState?)? {
        guard let row = try await executor.queryFirst("""
            SELECT \(unsafeRaw: Endpoint.qualifiedColumns), i.id, i.status FROM endpoints e
            LEFT JOIN endpoint_indexes i
              ON i.endpoint_id = e.id AND i.status = 'PENDING'
            WHERE e.environment_id = \(environmentId) AND e.slug = \(slug) AND e.deleted_at IS NULL
            """) else { return nil }
        return try Self.endpointAndIndex(row, IndexState.init)
    }

    /// Moves an index to a new status. `from` guards against racing writers (e.g. only a PENDING
    /// index may start). Returns false when the index was not in an allowed state.
    func setStatus(indexId: UUID, to status: IndexStatus, from allowed: [IndexStatus], error: IndexFailure? = nil,
                   stats: JSONValue? = nil, data: JSONValue? = nil, now: Date, in executor: any SQLExecutor) async throws -> Bool {
        let errorJSON = try error.map { try SQLJSON(encoding: $0) }
        let rows = try await executor.query("""
            UPDATE endpoint_indexes
            SET status = \(status.rawValue), error = \(errorJSON),
                stats = COALESCE(\(stats.map { SQLJSON($0.jsonString()) }), stats),
                data = COALESCE(\(data.map { SQLJSON($0.jsonString()) }), data),
                updated_at = \(now)
            WHERE id = \(indexId) AND status IN (\(list: allowed.map(\.rawValue)))
            RETURNING id
            """)
        return !rows.isEmpty
    }

    /// How the items of an index registered: counts and the failures with their messages.
    public func registrationSummary(indexId: UUID, in executor: any SQLExecutor) async throws -> RegistrationSummary {
        let rows = try await executor.query("""
            SELECT kind, item_key, status, error FROM endpoint_index_registrations WHERE index_id = \(indexId) ORDER BY kind, item_key
            """)
        var registered = 0
        var failures: [RegistrationSummary.Failure] = [], unsupported: [RegistrationSummary.Failure] = []
        for row in rows {
            let item = RegistrationSummary.Failure(kind: try row.decode("kind"), key: try row.decode("item_key"), message: try row.decodeIfPresent("error") ?? "")
            switch try row.decode("status", as: String.self) {
            case "REGISTERED": registered += 1
            case "UNSUPPORTED": unsupported.append(item)
            default: failures.append(item)
            }
        }
        return RegistrationSummary(registered: registered, failed: failures.count, failures: failures, unsupported: unsupported)
    }
}

public struct RegistrationSummary: Sendable, Equatable {
    public struct Failure: Sendable, Equatable {
        public let kind: String
        public let key: String
        public let message: String
    }

    public let registered: Int
    public let failed: Int
    public let failures: [Failure]
    /// Declarations Kongflow does not serve yet (SDK 2.3's webhooks and HTTP endpoints), reported
    /// so that the user is told instead of left guessing.
    public let unsupported: [Failure]

    /// What a later SDK declares that is recorded but not registered, with the message the user sees.
    public static let unsupportedKinds: [(field: String, kind: String, message: String)] = [
        ("webhooks", "WEBHOOK", "Webhooks (client.defineWebhook) are not supported by Kongflow yet; this webhook was not registered"),
        ("httpEndpoints", "HTTP_ENDPOINT", "HTTP endpoints (client.defineHttpEndpoint) are not supported by Kongflow yet; this endpoint was not registered"),
    ]

    /// Writes one UNSUPPORTED row per declared item of the kinds above.
    static func recordUnsupported(indexId: UUID, webhooks: [JSONValue], httpEndpoints: [JSONValue], now: Date, in tx: any Transaction) async throws {
        var rows: [SQLQuery] = []
        for (items, entry) in [(webhooks, unsupportedKinds[0]), (httpEndpoints, unsupportedKinds[1])] {
            var seen = Set<String>()
            for (position, item) in items.enumerated() {
                let key = item["key"]?.stringValue ?? item["id"]?.stringValue ?? "\(entry.field)[\(position)]"
                guard seen.insert(key).inserted else { continue }
                rows.append("(\(indexId), \(entry.kind), \(key), 'UNSUPPORTED', \(entry.message), \(now))")
            }
        }
        guard !rows.isEmpty else { return }
        try await tx.query("""
            INSERT INTO endpoint_index_registrations (index_id, kind, item_key, status, error, updated_at) VALUES \(SQLQuery.joined(rows))
            ON CONFLICT (index_id, kind, item_key) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at
            """)
    }
}
