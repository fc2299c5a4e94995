import Hummingbird

/// Liveness and readiness: no API key, for load balancers and orchestrators.
struct HealthController {
    let deps: APIDependencies

    func addRoutes(to router: some RouterMethods<APIRequestContext>) {
        router.get("/healthz") { _, _ in
            ["status": "ok"]
        }
        router.get("/readyz") { _, _ in
            do {
                try await deps.database.ping()
            } catch {
                throw APIError(.serviceUnavailable, "Database unavailable: \(error)")
            }
            guard try await deps.migrations.isCurrent() else {
                throw APIError(.serviceUnavailable, "Database schema is not current; run `kongflow migrate up`")
            }
            return ["status": "ready"]
        }
    }
}
