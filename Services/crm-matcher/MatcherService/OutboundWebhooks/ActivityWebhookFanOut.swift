import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `crm.activity` → one queued delivery per subscribed endpoint. Only queues (one INSERT per
/// batch); sending happens in `WebhookDispatcher`, so a slow endpoint never holds this
/// partition and a redelivered record queues nothing twice.
public struct ActivityWebhookFanOut: RecordBatchHandler {
    let postgres: PostgresClient
    let logger: Logger

    public init(context: WorkerContext) {
        postgres = context.postgres
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let events = try records.map { record in
            let envelope = try EventEnvelope<CRMActivity>.decode(record.value)
            // The receiver gets the envelope exactly as it is on the topic.
            return WebhookDeliveryStore.Event(
                eventId: envelope.eventId, kind: envelope.payload.kind,
                body: String(decoding: record.value, as: UTF8.self))
        }
        let queued = try await postgres.transaction(logger: logger) { conn in
            try await WebhookDeliveryStore.enqueue(events, on: conn, logger: logger)
        }
        if queued > 0 { logger.debug("outbound webhook deliveries queued", metadata: ["count": "\(queued)"]) }
    }
}
