import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.outbound.result` → the first response of a conversation. The sender commits the outbound
/// message row (contact, business number, time) before it publishes the result, so the row is
/// there to read. Campaign messages are broadcasts, not answers, and are left out. Idempotent:
/// only a conversation without a first response is updated.
public struct OutboundResultHandler: RecordBatchHandler {
    let context: WorkerContext
    let publisher: OutboxPublisher

    public init(context: WorkerContext) {
        self.context = context
        publisher = OutboxPublisher(context: context)
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        // The first-response event continues the trace of the send that answered.
        var traces: [String: String] = [:]
        let wamids = try records.compactMap { record -> String? in
            let result = try EventEnvelope<OutboundResult>.decode(record.value).payload
            guard result.state == "sent", let wamid = result.wamid else { return nil }
            traces[wamid] = Traces.traceParent(in: record.headers)
            return wamid
        }
        guard !wamids.isEmpty else { return }
        let logger = context.logger
        try await publisher.commit { outbox in
            let conn = outbox.conn
            let sent = try await MessageStore.sentToContacts(wamids: wamids, on: conn, logger: logger)
            for (wamid, contact, number, at) in sent {
                guard
                    let answered = try await ConversationStore.recordOutbound(
                        contactId: contact, phoneNumberId: number, wamid: wamid, at: at, on: conn, logger: logger)
                else { continue }
                outbox.traceParent = traces[wamid]
                try await outbox.add(
                    "conversation.first_response", "conversation", answered.id, contact: contact, version: 2, at: at,
                    data: [
                        "wamid": .string(wamid), "first_response_at": .string(RFC3339.string(from: at)),
                        "seconds": .number(max(0, at.timeIntervalSince(answered.openedAt)).rounded()),
                    ])
            }
        }
    }
}
