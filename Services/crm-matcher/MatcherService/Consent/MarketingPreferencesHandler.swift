import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.account.event` with field `user_preferences`: WhatsApp's own marketing opt-out ("Stop
/// promotions") and its reversal. `value.user_preferences[]` carries `wa_id`, `category`
/// (`marketing_messages`), `value` (`stop`; `resume` or `signup` opt back in) and `timestamp`.
/// Each item is recorded in the consent ledger once (keyed by the event id and item index).
public struct MarketingPreferencesHandler: RecordBatchHandler {
    let context: WorkerContext
    let publisher: OutboxPublisher

    public init(context: WorkerContext) {
        self.context = context
        publisher = OutboxPublisher(context: context)
    }

    struct Preference {
        var sourceEventId: String
        var waId: String
        var optedOut: Bool
        var detail: String?
        var at: Date
    }

    static func preferences(in envelope: EventEnvelope<MetaEvent>) -> [Preference] {
        guard envelope.payload.field == "user_preferences" else { return [] }
        var out: [Preference] = []
        for (i, item) in (envelope.payload.value["user_preferences"]?.arrayValue ?? []).enumerated() {
            guard let waId = item["wa_id"]?.stringValue, item["category"]?.stringValue == "marketing_messages",
                let value = item["value"]?.stringValue?.lowercased(), ["stop", "resume", "signup"].contains(value)
            else { continue }
            let at = item["timestamp"]?.doubleValue.map { Date(timeIntervalSince1970: $0) } ?? envelope.occurredAt
            out.append(
                Preference(
                    sourceEventId: "\(envelope.eventId):\(i)", waId: waId, optedOut: value == "stop",
                    detail: item["detail"]?.stringValue ?? value, at: at))
        }
        return out
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        let preferences = try records.flatMap { Self.preferences(in: try EventEnvelope<MetaEvent>.decode($0.value)) }
        guard !preferences.isEmpty else { return }
        let logger = context.logger
        try await publisher.commit { outbox in
            let conn = outbox.conn
            let contacts = try await ContactStore.matchMany(
                preferences.map { ContactIdentity(waId: $0.waId, userId: nil, profileName: nil) }, fromCustomer: false,
                on: conn, logger: logger)
            for (p, c) in zip(preferences, contacts) {
                if c.created {
                    try await outbox.add(
                        "contact.created", "contact", c.id, contact: c.id, version: c.version, at: p.at,
                        data: ["wa_id": .string(p.waId)])
                }
                guard
                    let change = try await ConsentStore.record(
                        contactId: c.id, optedOut: p.optedOut, how: "marketing_preferences", detail: p.detail,
                        wamid: nil, sourceEventId: p.sourceEventId, actor: "system", at: p.at, on: conn, logger: logger),
                    let version = change.contactVersion
                else { continue }
                try await outbox.add(
                    p.optedOut ? "contact.opted_out" : "contact.opted_in", "contact", c.id, contact: c.id,
                    version: version, at: p.at,
                    data: [
                        "opted_out": .bool(p.optedOut), "how": .string("marketing_preferences"),
                        "detail": p.detail.map(JSONValue.string) ?? .null,
                        "ledger_id": .number(Double(change.ledgerId)),
                    ])
            }
        }
    }
}
