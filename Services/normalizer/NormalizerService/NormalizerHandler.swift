import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.webhook.raw` → archive the body once (`webhook_raw`), then publish one event per
/// message, status and other change. Bodies already processed (Meta's retries, replays of
/// the same bytes) are archived once and publish nothing again.
public struct NormalizerHandler: RecordBatchHandler {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let logger: Logger
    let normalizer = WebhookNormalizer()

    public init(context: WorkerContext) {
        NormalizerMetrics.register()
        postgres = context.postgres
        producer = context.producer
        topics = context.config.topics
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let raws = try records.map(RawWebhookRecord.decode)
        // Each body continues the trace its webhook started at the gateway.
        let spans = records.map { RecordSpan("normalize", record: $0) }
        defer { for span in spans { span.end() } }
        var spanOf: [String: RecordSpan] = [:]
        for (raw, span) in zip(raws, spans) { spanOf[raw.sha256] = spanOf[raw.sha256] ?? span }
        // One body can be in a batch twice (Meta retried quickly); archive once.
        var seen = Set<String>()
        let unique = raws.filter { seen.insert($0.sha256 + ($0.replay ? ":replay" : "")).inserted }
        let states = try await WebhookRawStore.archive(
            unique.map { .init(sha256: $0.sha256, body: $0.body, receivedAt: $0.receivedAt) }, on: postgres,
            logger: logger)

        var outgoing: [OutgoingRecord] = []
        var outcomes: [(sha256: String, state: String, error: String?)] = []
        // A replay (crmctl replay) processes archived bodies again; downstream ids make it safe.
        for raw in unique where states[raw.sha256] == "received" || raw.replay {
            let (records, state, error) = try normalize(raw, span: spanOf[raw.sha256])
            outgoing += records
            outcomes.append((raw.sha256, state, error))
        }
        guard !outcomes.isEmpty else { return }
        // Publish before marking processed: a crash in between republishes, which the
        // downstream idempotency keys absorb; the reverse order could lose events.
        try await producer.send(outgoing)
        try await WebhookRawStore.markProcessedMany(outcomes, on: postgres, logger: logger)
    }

    func normalize(_ raw: RawWebhook, span: RecordSpan? = nil) throws -> ([OutgoingRecord], String, String?) {
        // Only worked out for lines at an enabled level (`metadata:` is an autoclosure).
        func traced(_ metadata: Logger.Metadata) -> Logger.Metadata {
            metadata.merging(span?.metadata ?? [:]) { own, _ in own }
        }
        let body: WebhookBody
        do {
            body = try WebhookBody(bytes: raw.bytes)
        } catch {
            logger.error(
                "archived body is not a WhatsApp notification",
                metadata: traced(["event_id": "\(raw.sha256)", "error": "\(error)"]))
            return ([], "failed", "\(error)")
        }
        let out = normalizer.normalize(body, receivedAt: raw.receivedAt)
        var records: [OutgoingRecord] = []
        for m in out.messages {
            records.append(
                try record(
                    Topics.inboundMessage, key: m.waId ?? m.userId ?? m.wamid, id: m.wamid,
                    type: EventTypes.inboundMessage, at: m.timestamp, payload: m, span: span))
        }
        for s in out.statuses {
            records.append(
                try record(
                    Topics.status, key: s.wamid, id: s.eventId, type: EventTypes.status, at: s.timestamp, payload: s,
                    span: span))
        }
        for t in out.templateEvents {
            records.append(
                try record(
                    Topics.templateEvent, key: t.key, id: t.eventId, type: EventTypes.templateEvent,
                    at: raw.receivedAt, payload: t.event, span: span))
        }
        for a in out.accountEvents {
            records.append(
                try record(
                    Topics.accountEvent, key: a.key, id: a.eventId, type: EventTypes.accountEvent,
                    at: raw.receivedAt, payload: a.event, span: span))
        }
        NormalizerMetrics.count(out)
        if !out.unknown.isEmpty {
            logger.notice(
                "webhook has content this version does not know",
                metadata: traced(["event_id": "\(raw.sha256)", "unknown": "\(out.unknown)"]))
        }
        if !out.problems.isEmpty {
            logger.warning(
                "webhook items rejected",
                metadata: traced(["event_id": "\(raw.sha256)", "problems": "\(out.problems)"]))
        }
        logger.debug(
            "normalized",
            metadata: traced([
                "event_id": "\(raw.sha256)", "messages": "\(out.messages.count)", "statuses": "\(out.statuses.count)",
            ]))
        return (
            records, out.problems.isEmpty ? "processed" : "partial",
            out.problems.isEmpty ? nil : out.problems.joined(separator: "; ")
        )
    }

    func record<P: Codable & Sendable>(
        _ topic: String, key: String, id: String, type: String, at: Date, payload: P, span: RecordSpan?
    ) throws -> OutgoingRecord {
        let envelope = EventEnvelope(
            eventId: id, type: type, occurredAt: at, source: "normalizer", traceId: span?.traceId, payload: payload)
        return OutgoingRecord(
            topic: topics.name(topic), key: Array(key.utf8), value: try envelope.encoded(),
            headers: span?.headers ?? [])
    }
}
