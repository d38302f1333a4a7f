import Foundation
import HTTPTypes
import Instrumentation
import Kafka
import Logging
import OTel
import ServiceContextModule
import ServiceLifecycle
import Synchronization
import Tracing
import WireModels

/// W3C trace context from the first hop to the last: the gateway starts a trace per webhook or
/// API request (or continues the caller's `traceparent`), every Kafka record carries it in a
/// `traceparent` header, every stage continues it with a span of its own, and the log lines and
/// `crm.activity` events about the record carry its `trace_id`. Where a hop goes through a
/// table (the activity outbox, workflow sends, a sent message's statuses) the `traceparent`
/// is stored with the row.
///
/// Spans are recorded and exported over OTLP/HTTP (swift-otel) when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the standard `OTEL_*` variables for
/// the rest (protocol, sampler, headers). Without one, nothing is recorded: ids are made and
/// propagated by plain string work on the `traceparent` (a tracer's span machinery cost about
/// 3 % of the ingest path's CPU for spans nobody would see), so logs can still be followed
/// by `trace_id`.
public enum Traces {
    /// Whether a tracer records spans (set once, by `bootstrap`).
    static let recording = Atomic<Bool>(false)

    /// The `traceparent` of the request span the calling task serves (set by the gateway's
    /// API middleware), so that work it starts continues it and its log lines carry it.
    @TaskLocal public static var current: String?

    /// `trace_id`/`span_id` of `current` on every log line written while serving a request.
    public static let loggingMetadata = Logger.MetadataProvider {
        guard let current, valid(current) else { return [:] }
        return metadata(current)
    }

    static func metadata(_ traceParent: String) -> Logger.Metadata {
        let utf8 = Array(traceParent.utf8)
        return [
            "trace_id": "\(String(decoding: utf8[3..<35], as: UTF8.self))",
            "span_id": "\(String(decoding: utf8[36..<52], as: UTF8.self))",
        ]
    }

    /// Bootstraps the process-wide tracer when spans are exported; returns its background
    /// service, which must run in the service group (first, so it flushes last), or a service
    /// that does nothing.
    public static func bootstrap(service: String, environment: [String: String], logger: Logger) throws
        -> any Service
    {
        guard exports(environment) else { return Idle() }
        var config = OTel.Configuration.default
        config.serviceName = service
        config.logs.enabled = false
        config.metrics.enabled = false
        config.diagnosticLogger = .custom(logger)
        config.diagnosticLogLevel = .warning
        config.traces.otlpExporter.protocol = .httpProtobuf
        let backend = try OTel.makeTracingBackend(configuration: config)
        InstrumentationSystem.bootstrap(backend.factory)
        recording.store(true, ordering: .releasing)
        return backend.service
    }

    /// Whether spans leave the process: an OTLP endpoint, or an explicit exporter choice.
    public static func exports(_ environment: [String: String]) -> Bool {
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"].contains {
            !(environment[$0] ?? "").isEmpty
        }
    }

    /// The `traceparent` a record carries, if well formed.
    public static func traceParent(in headers: [KafkaHeader]) -> String? {
        guard let header = headers.first(where: { $0.key == "traceparent" }) else { return nil }
        let value = String(decoding: header.value, as: UTF8.self)
        return valid(value) ? value : nil
    }

    /// The headers that carry a stored `traceparent` on a record (none for nil).
    public static func headers(traceParent: String?) -> [KafkaHeader] {
        guard let traceParent, valid(traceParent) else { return [] }
        return [KafkaHeader(key: "traceparent", value: Array(traceParent.utf8))]
    }

    /// The trace the calling task is in (an API request's span), or a new one: what work
    /// started here and handed on carries.
    public static func currentTraceParent() -> String? {
        if let current { return current }
        if recording.load(ordering: .acquiring) {
            var carrier: [String: String] = [:]
            InstrumentationSystem.instrument.inject(
                ServiceContext.current ?? .topLevel, into: &carrier, using: DictionaryInjector())
            return carrier["traceparent"]
        }
        return child(of: nil)
    }

    /// `00-<trace id>-<span id>-<flags>` → the trace id (32 hex digits).
    public static func traceId(_ traceParent: String?) -> String? {
        guard let traceParent, valid(traceParent) else { return nil }
        let utf8 = traceParent.utf8
        return String(utf8[utf8.index(utf8.startIndex, offsetBy: 3)..<utf8.index(utf8.startIndex, offsetBy: 35)])
    }

    /// Version 00 as W3C writes it: 2 + 32 + 16 + 2 lowercase hex digits, ids not all zero.
    static func valid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
            bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
        else { return false }
        for i in [3..<35, 36..<52, 53..<55] {
            guard bytes[i].allSatisfy(Hashing.isHexDigit) else { return false }
        }
        return bytes[3..<35].contains { $0 != UInt8(ascii: "0") } && bytes[36..<52].contains { $0 != UInt8(ascii: "0") }
    }

    /// A new span of the trace `parent` belongs to (its flags kept), or the first span of a new
    /// trace, not sampled.
    static func child(of parent: String?) -> String {
        var rng = SystemRandomNumberGenerator()
        let span = hex(rng.next(), nonZero: true)
        if let parent, valid(parent) {
            let utf8 = Array(parent.utf8)
            return "00-" + String(decoding: utf8[3..<35], as: UTF8.self) + "-" + span + "-"
                + String(decoding: utf8[53..<55], as: UTF8.self)
        }
        return "00-" + hex(rng.next(), nonZero: true) + hex(rng.next(), nonZero: false) + "-" + span + "-00"
    }

    static func hex(_ value: UInt64, nonZero: Bool) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var v = nonZero && value == 0 ? 1 : value
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: 16)
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The exporter's place in the service group when nothing is exported.
    struct Idle: Service {
        func run() async throws { try? await gracefulShutdown() }
    }
}

/// One span of a stage's work on one record (or request), continuing the trace it came in
/// (a record's or request's `traceparent`, or a stored one), ended by the caller. Log lines
/// about the record carry `metadata`, records it produces carry `headers`, rows that hand it
/// on store `traceParent`. Everything is worked out once, when the span starts.
public struct RecordSpan: Sendable {
    /// The recorded span, when a tracer records (`Traces.bootstrap` with an exporter).
    let span: (any Span)?
    /// This span's `traceparent`.
    public let traceParent: String
    public let traceId: String
    public let headers: [KafkaHeader]

    /// Continues `parent` (a `traceparent`; nil or malformed starts a new trace). `tracestate`
    /// goes along when spans are recorded.
    public init(_ operation: String, kind: SpanKind = .consumer, parent: String?, state: String? = nil) {
        if Traces.recording.load(ordering: .acquiring) {
            var context = ServiceContext.topLevel
            var carrier: [String: String] = [:]
            if let parent { carrier["traceparent"] = parent }
            if let state { carrier["tracestate"] = state }
            InstrumentationSystem.instrument.extract(carrier, into: &context, using: DictionaryExtractor())
            let span = startSpan(operation, context: context, ofKind: kind)
            var out: [String: String] = [:]
            InstrumentationSystem.instrument.inject(span.context, into: &out, using: DictionaryInjector())
            self.span = span
            traceParent = out["traceparent"] ?? Traces.child(of: parent)
            headers = out.sorted { $0.key < $1.key }.map { KafkaHeader(key: $0.key, value: Array($0.value.utf8)) }
        } else {
            span = nil
            traceParent = Traces.child(of: parent)
            headers = [KafkaHeader(key: "traceparent", value: Array(traceParent.utf8))]
        }
        traceId = Traces.traceId(traceParent) ?? ""
    }

    /// Continues the trace a consumed record carries.
    public init(_ operation: String, kind: SpanKind = .consumer, record: KafkaRecord) {
        self.init(
            operation, kind: kind, parent: Traces.traceParent(in: record.headers),
            state: record.headers.first { $0.key == "tracestate" }.map { String(decoding: $0.value, as: UTF8.self) })
    }

    /// Continues the trace of an HTTP request (its `traceparent` header).
    public init(_ operation: String, kind: SpanKind = .server, request headers: HTTPFields) {
        self.init(
            operation, kind: kind, parent: HTTPField.Name("traceparent").flatMap { headers[$0] },
            state: HTTPField.Name("tracestate").flatMap { headers[$0] })
    }

    /// `trace_id` and `span_id` for log lines about this record (pass it where the line is
    /// logged, so nothing is built for lines below the log level).
    public var metadata: Logger.Metadata { Traces.metadata(traceParent) }

    /// Runs `body` as this span's work: `Traces.current` (and, when spans are recorded, the
    /// task's service context) is this span, so log lines and work it hands on continue it.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await Traces.$current.withValue(traceParent) {
            guard let context = span?.context else { return try await body() }
            return try await ServiceContext.withValue(context) { try await body() }
        }
    }

    public func setAttribute(_ key: String, _ value: Int) {
        span?.attributes[key] = value
    }

    public func setAttribute(_ key: String, _ value: String) {
        span?.attributes[key] = value
    }

    public func end(error: (any Error)? = nil) {
        if let error { span?.recordError(error) }
        span?.end()
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

extension OutgoingRecord {
    /// A record of `envelope` that continues `traceParent` (a stored or received one): the
    /// envelope's `trace_id` and the record's `traceparent` header say the same trace.
    public static func traced<Payload>(
        topic: String, key: String, envelope: EventEnvelope<Payload>, traceParent: String?
    ) throws -> OutgoingRecord {
        var envelope = envelope
        envelope.traceId = Traces.traceId(traceParent)
        return OutgoingRecord(
            topic: topic, key: Array(key.utf8), value: try envelope.encoded(),
            headers: Traces.headers(traceParent: traceParent))
    }
}
