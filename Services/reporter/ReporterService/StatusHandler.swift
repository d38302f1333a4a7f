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
        let envelopes = try records.map { try EventEnvelope<StatusUpdate>.decode($0.value) }
        let logger = context.logger
        try await context.postgres.withTransaction(logger: logger) { conn in
            for envelope in envelopes {
                guard try await StatusStore.ingest(envelope.payload, on: conn, logger: logger) else { continue }
                logger.debug("status applied", metadata: ["event_id": "\(envelope.eventId)"])
            }
        }
    }
}
