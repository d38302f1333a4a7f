import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.inbound.message` → find or create the contact (by wa_id, else BSUID) and store the
/// message linked to it, the whole batch in one transaction. Redelivered messages hit the
/// wamid primary key and change nothing.
public struct InboundMessageHandler: RecordBatchHandler {
    let context: WorkerContext

    public init(context: WorkerContext) { self.context = context }

    public func handle(_ records: [KafkaRecord]) async throws {
        let envelopes = try records.map { try EventEnvelope<InboundMessage>.decode($0.value) }
        let logger = context.logger
        try await context.postgres.withTransaction(logger: logger) { conn in
            for envelope in envelopes {
                let m = envelope.payload
                let contactId = try await ContactStore.upsertFromWhatsApp(
                    waId: m.waId, userId: m.userId, profileName: m.profileName, on: conn, logger: logger)
                let new = try await MessageStore.insertInbound(m, contactId: contactId, on: conn, logger: logger)
                logger.debug(
                    new ? "inbound message stored" : "inbound message already stored",
                    metadata: ["event_id": "\(envelope.eventId)", "contact_id": "\(contactId)"])
            }
        }
    }
}
