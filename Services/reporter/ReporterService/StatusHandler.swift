import CRMCore
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.status` → keep each distinct status event once and move the message's current status
/// forward (see `DeliveryStatus`). Statuses for messages not stored yet stay in history and
/// are applied when the message row appears.
public struct StatusHandler: RecordBatchHandler {
    let context: WorkerContext

    public init(context: WorkerContext) { self.context = context }

    public func handle(_ records: [KafkaRecord]) async throws {
        // In wamid order (stable, so one wamid's events keep theirs): each event takes its wamid's
        // lock, and the sender's batches take theirs in the same order, so the two never deadlock.
        let items = try records.map { (envelope: try EventEnvelope<StatusUpdate>.decode($0.value), record: $0) }
            .enumerated()
            .sorted { ($0.element.envelope.payload.wamid, $0.offset) < ($1.element.envelope.payload.wamid, $1.offset) }
            .map(\.element)
        let logger = context.logger
        // A status continues the trace of the send it reports on (the message stores it); a
        // status of a message we did not send continues its webhook's.
        let sends = try await MessageStore.traceParents(
            wamids: items.map(\.envelope.payload.wamid), on: context.postgres, logger: logger)
        let spans = items.map { item in
            sends[item.envelope.payload.wamid].map { RecordSpan("apply status", parent: $0) }
                ?? RecordSpan("apply status", record: item.record)
        }
        defer { for span in spans { span.end() } }
        try await context.postgres.transaction(logger: logger) { conn in
            for (item, span) in zip(items, spans) {
                guard try await StatusStore.ingest(item.envelope.payload, on: conn, logger: logger) else { continue }
                logger.debug(
                    "status applied",
                    metadata: ["event_id": "\(item.envelope.eventId)", "status": "\(item.envelope.payload.status)"]
                        .merging(span.metadata) { a, _ in a })
            }
        }
    }
}
