import Foundation
import HTTPTypes
import Instrumentation
import Kafka
import Logging
import OTel
import ServiceContextModule
import ServiceLifecycle
import Tracing

/// W3C trace context from the first hop to the last: the gateway starts a trace per webhook or
/// API request (or continues the caller's `traceparent`), every Kafka record carries it in a
/// `traceparent` header, every stage continues it with a span of its own, and the log lines and
/// `crm.activity` events about the record carry its `trace_id`. Where a hop goes through a
/// table (the activity outbox, workflow sends, a sent message's statuses) the `traceparent`
/// is stored with the row.
///
/// Spans are exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the standard `OTEL_*` variables for the
/// rest (protocol, sampler, headers). Without an endpoint nothing is recorded or exported, but
/// ids are still made and propagated, so logs can still be followed by `trace_id`.
public enum Traces {
    /// Bootstraps the process-wide tracer; returns the exporter's background service, which
    /// must run in the service group (first, so it flushes last).
    public static func bootstrap(service: String, environment: [String: String], logger: Logger) throws
        -> any Service
    {
        var config = OTel.Configuration.default
        config.serviceName = service
        config.logs.enabled = false
        config.metrics.enabled = false
        config.diagnosticLogger = .custom(logger)
        config.diagnosticLogLevel = .warning
        config.traces.otlpExporter.protocol = .httpProtobuf
        if !exports(environment) {
            // Ids are made and propagated; nothing is recorded (parent-based, so a caller's
            // sampled trace is still honoured) and nothing leaves the process.
            config.traces.exporter = .none
            config.traces.sampler = .parentBasedAlwaysOff
        }
        let backend = try OTel.makeTracingBackend(configuration: config)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }

    /// Whether spans leave the process: an OTLP endpoint, or an explicit exporter choice.
    public static func exports(_ environment: [String: String]) -> Bool {
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"].contains {
            !(environment[$0] ?? "").isEmpty
        }
    }

    /// The context a record continues (its `traceparent` header), or none.
    public static func context(of headers: [KafkaHeader]) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: KafkaHeadersExtractor())
        return context
    }

    /// The context of a stored `traceparent` (an outbox row's), or none.
    public static func context(traceParent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let traceParent {
            InstrumentationSystem.instrument.extract(
                ["traceparent": traceParent], into: &context, using: DictionaryExtractor())
        }
        return context
    }

    /// The `traceparent` that continues `context`, nil when it has none.
    public static func traceParent(of context: ServiceContext) -> String? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// The headers that carry `context` on a record.
    public static func headers(_ context: ServiceContext) -> [KafkaHeader] {
        var headers: [KafkaHeader] = []
        InstrumentationSystem.instrument.inject(context, into: &headers, using: KafkaHeadersInjector())
        return headers
    }

    /// `00-<trace id>-<span id>-<flags>` → the trace id (32 hex digits).
    public static func traceId(_ traceParent: String?) -> String? {
        guard let traceParent else { return nil }
        let parts = traceParent.split(separator: "-")
        guard parts.count == 4, parts[1].count == 32 else { return nil }
        return String(parts[1])
    }
}

/// One span of a stage's work on one record (or request): started from the context it
/// continues, ended by the caller. Log lines about the record carry `metadata`, records it
/// produces carry `headers`, rows that hand it on store `traceParent`.
public struct RecordSpan: Sendable {
    public let span: any Span
    /// The span's own `traceparent` (nil when no tracer is bootstrapped).
    public let traceParent: String?

    public init(_ operation: String, kind: SpanKind = .consumer, continuing parent: ServiceContext) {
        span = startSpan(operation, context: parent, ofKind: kind)
        traceParent = Traces.traceParent(of: span.context)
    }

    public init(_ operation: String, kind: SpanKind = .consumer, record: KafkaRecord) {
        self.init(operation, kind: kind, continuing: Traces.context(of: record.headers))
    }

    public var context: ServiceContext { span.context }
    public var traceId: String? { Traces.traceId(traceParent) }
    public var headers: [KafkaHeader] { Traces.headers(span.context) }

    /// `trace_id` and `span_id` for log lines about this record.
    public var metadata: Logger.Metadata {
        guard let traceParent else { return [:] }
        let parts = traceParent.split(separator: "-")
        guard parts.count == 4 else { return [:] }
        return ["trace_id": "\(parts[1])", "span_id": "\(parts[2])"]
    }

    public func end(error: (any Error)? = nil) {
        if let error { span.recordError(error) }
        span.end()
    }
}

struct KafkaHeadersExtractor: Extractor {
    func extract(key: String, from carrier: [KafkaHeader]) -> String? {
        carrier.first { $0.key == key }.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

struct KafkaHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [KafkaHeader]) {
        carrier.removeAll { $0.key == key }
        carrier.append(KafkaHeader(key: key, value: Array(value.utf8)))
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

extension Traces {
    /// The context an HTTP request continues (its `traceparent` header), or none.
    public static func context(of headers: HTTPFields) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: HTTPFieldsExtractor())
        return context
    }
}

struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
