import CoreMetrics
import Hummingbird
import Timing

/// Counts requests by route pattern (not raw path, which would explode cardinality) and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        Counter(label: "kongflow_http_requests_total",
                dimensions: [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))],
                factory: factory).increment()
        let elapsed = ContinuousClock.now - start
        CoreMetrics.Timer(label: "kongflow_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(elapsed.nanoseconds)
        return response
    }
}
