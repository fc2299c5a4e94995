/// Every schema migration, in order. Later modules' tables are added here as new numbered files.
public enum Migrations {
    public static let all: [Migration] = [
        m0001TenancyAndEndpoints,
        m0002JobQueue,
        m0003EndpointLifecycle,
        m0004Registration,
        m0005QueueConcurrency,
        m0006Runs,
        m0007UnsupportedDeclarations,
        m0008LaterRunProtocol,
        m0009IntegrationConnections,
        m0010HttpSourceRequests,
        m0011DynamicTriggerRegistrations,
        m0012JobScope,
        m0013DashboardLoginLinks,
        m0014OnePendingIndex,
        m0015RunnableJobIndexes,
    ]
}
