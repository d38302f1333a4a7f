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
        let envelopes = try records.map { try EventEnvelope<StatusUpdate>.decode($0.value) }
            .enumerated().sorted { ($0.element.payload.wamid, $0.offset) < ($1.element.payload.wamid, $1.offset) }
            .map(\.element)
        let logger = context.logger
        try await context.postgres.withTransaction(logger: logger) { conn in
            for envelope in envelopes {
                guard try await StatusStore.ingest(envelope.payload, on: conn, logger: logger) else { continue }
                logger.debug("status applied", metadata: ["event_id": "\(envelope.eventId)"])
            }
        }
    }
}
