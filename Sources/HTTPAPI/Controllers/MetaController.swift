import CoreMetrics
import Foundation
import Hummingbird
import Prometheus
import Queue
import Runs

/// `/metrics` and the OpenAPI document.
struct MetaController {
    let deps: APIDependencies

    func addRoutes(to router: some RouterMethods<APIRequestContext>) {
        let queueGauges = QueueGauges(registry: deps.metrics)
        let runGauges = RunGauges(registry: deps.metrics)
        router.get("/metrics") { _, _ in
            // Queue depth and runs by status are read at scrape time, so every process reports the
            // shared database's view.
            if let counts = try? await deps.queue.counts() { queueGauges.update(counts) }
            if let counts = try? await deps.runs.runCounts() { runGauges.update(counts) }
            var buffer: [UInt8] = []
            deps.metrics.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/api/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}

struct RunGauges: Sendable {
    let gauges: [RunStatus: Prometheus.Gauge]

    init(registry: PrometheusCollectorRegistry) {
        var gauges: [RunStatus: Prometheus.Gauge] = [:]
        for status in RunStatus.allCases {
            gauges[status] = registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "kongflow", subsystem: "runs", metricName: "current", unitName: "", helpText: "Runs by status"),
                labels: [("status", status.rawValue)])
        }
        self.gauges = gauges
    }

    func update(_ counts: [RunStatus: Int]) {
        for (status, gauge) in gauges { gauge.set(Double(counts[status] ?? 0)) }
    }
}

struct QueueGauges: Sendable {
    let gauges: [JobState: Prometheus.Gauge]

    init(registry: PrometheusCollectorRegistry) {
        var gauges: [JobState: Prometheus.Gauge] = [:]
        for state in JobState.allCases {
            gauges[state] = registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "kongflow", subsystem: "queue", metricName: "jobs", unitName: "", helpText: "Jobs in the queue by state"),
                labels: [("state", state.rawValue)])
        }
        self.gauges = gauges
    }

    func update(_ counts: [JobState: Int]) {
        for (state, gauge) in gauges { gauge.set(Double(counts[state] ?? 0)) }
    }
}

