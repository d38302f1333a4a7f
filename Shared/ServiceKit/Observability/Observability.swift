import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Process-wide logging, metrics and tracing set-up, called once from each `main`.
public enum Observability {
    /// Bootstraps JSON logging, Prometheus metrics and the tracer (`Traces`); returns the
    /// registry `/metrics` serves and the tracer's exporter service, to run in the service group.
    public static func bootstrap(service: String, level: Logger.Level) throws -> (
        registry: PrometheusCollectorRegistry, tracing: any Service
    ) {
        LoggingSystem.bootstrap(
            { label, provider in
                JSONLogHandler(label: label, service: service, level: level, metadataProvider: provider)
            }, metadataProvider: Traces.loggingMetadata)
        var logger = Logger(label: "tracing")
        logger.logLevel = level
        let tracing = try Traces.bootstrap(
            service: service, environment: ProcessInfo.processInfo.environment, logger: logger)
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Library metrics use dotted names, which Prometheus rejects.
        factory.nameAndLabelSanitizer = { name, labels in
            (name.replacingOccurrences(of: ".", with: "_"), labels)
        }
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return (registry, tracing)
    }
}
