import Foundation
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
        let messages = try records.map { try EventEnvelope<InboundMessage>.decode($0.value).payload }
        let logger = context.logger
        try await context.postgres.withTransaction(logger: logger) { conn in
            let byWaId = messages.compactMap { m in
                m.waId.map { (waId: $0, userId: m.userId, profileName: m.profileName) }
            }
            var contactIds = try await ContactStore.upsertMany(byWaId, on: conn, logger: logger)
            var ids: [UUID] = []
            for m in messages {
                if let waId = m.waId, let id = contactIds[waId] {
                    ids.append(id)
                } else {
                    // Username-only customers (BSUID, no wa_id) are rare: one at a time.
                    let id = try await ContactStore.upsertFromWhatsApp(
                        waId: m.waId, userId: m.userId, profileName: m.profileName, on: conn, logger: logger)
                    if let waId = m.waId { contactIds[waId] = id }
                    ids.append(id)
                }
            }
            try await MessageStore.insertInboundMany(messages, contactIds: ids, on: conn, logger: logger)
        }
        for m in messages {
            logger.debug("inbound message stored", metadata: ["event_id": "\(m.wamid)"])
        }
    }
}
