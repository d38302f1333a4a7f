import CRMCore
import Foundation
import Logging
import PostgresNIO

/// The recipient facts the policy gate decides on, read in one round of queries.
extension Recipient {
    public static func load(waId: String, on client: PostgresClient, logger: Logger) async throws -> Recipient {
        try await loadMany(waIds: [waId], on: client, logger: logger)[waId] ?? Recipient(waId: waId)
    }

    /// The facts of many recipients in three queries (the sender gates a whole batch at once).
    public static func loadMany(waIds: [String], on client: PostgresClient, logger: Logger) async throws
        -> [String: Recipient]
    {
        let wanted = Array(Set(waIds))
        var out = Dictionary(uniqueKeysWithValues: wanted.map { ($0, Recipient(waId: $0)) })
        guard !wanted.isEmpty else { return out }
        let phones = wanted.map { "+" + $0 }
        // A contact found by wa_id beats one found by the typed phone.
        let contacts = try await client.query(
            """
            SELECT id, coalesce(name, profile_name, ''), coalesce(profile_name, ''), coalesce(phone, ''),
                   coalesce(wa_id, ''), opted_out
            FROM contacts WHERE wa_id = ANY(\(wanted)::text[]) OR phone = ANY(\(phones)::text[])
            """, logger: logger)
        var byWaId: [String: Bool] = [:]  // recipient → matched by wa_id
        for try await (id, name, profile, phone, wa, optedOut) in contacts.decode(
            (UUID, String, String, String, String, Bool).self)
        {
            for key in Set([wa, String(phone.dropFirst())]) where out[key] != nil {
                let exact = key == wa
                if byWaId[key] == true && !exact { continue }
                byWaId[key] = exact
                out[key]?.contactId = id
                out[key]?.optedOut = optedOut
                out[key]?.fields = ["name": name, "profile_name": profile, "phone": phone, "wa_id": wa].filter {
                    !$0.value.isEmpty
                }
            }
        }
        // The last inbound message, by the number it came from or by the contact.
        let contactIds = out.values.compactMap(\.contactId)
        let last = try await client.query(
            """
            SELECT counterpart_wa_id, NULL::uuid, max(coalesce(meta_timestamp, created_at)) FROM messages
            WHERE direction = 'inbound' AND counterpart_wa_id = ANY(\(wanted)::text[]) GROUP BY counterpart_wa_id
            UNION ALL
            SELECT NULL, contact_id, max(coalesce(meta_timestamp, created_at)) FROM messages
            WHERE direction = 'inbound' AND contact_id = ANY(\(contactIds)::uuid[]) GROUP BY contact_id
            """, logger: logger)
        var lastByWaId: [String: Date] = [:]
        var lastByContact: [UUID: Date] = [:]
        for try await (waId, contactId, at) in last.decode((String?, UUID?, Date).self) {
            if let waId { lastByWaId[waId] = at }
            if let contactId { lastByContact[contactId] = at }
        }
        for key in wanted {
            let byContact = out[key]?.contactId.flatMap { lastByContact[$0] }
            out[key]?.lastInboundAt = [lastByWaId[key], byContact].compactMap { $0 }.max()
        }
        let tests = try await client.query(
            "SELECT phone FROM test_recipients WHERE phone = ANY(\(phones)::text[])", logger: logger)
        for try await phone in tests.decode(String.self) { out[String(phone.dropFirst())]?.isTestRecipient = true }
        return out
    }

    /// Open-lead fields, when the leads table exists (it belongs to the CRM side and may be
    /// absent in an older schema); a failure means "no lead values", never a crash.
    public func leadFields(on client: PostgresClient, logger: Logger) async -> [String: String] {
        guard let contactId else { return [:] }
        do {
            let exists = try await client.query("SELECT to_regclass('public.leads') IS NOT NULL", logger: logger)
            var present = false
            for try await p in exists.decode(Bool.self) { present = p }
            guard present else { return [:] }
            let rows = try await client.query(
                """
                SELECT coalesce(stage::text, ''), coalesce(status::text, ''), coalesce(source::text, '')
                FROM leads WHERE contact_id = \(contactId) ORDER BY (status::text = 'open') DESC LIMIT 1
                """, logger: logger)
            for try await (stage, status, source) in rows.decode((String, String, String).self) {
                return ["stage": stage, "status": status, "source": source].filter { !$0.value.isEmpty }
            }
        } catch {
            logger.debug("lead fields unavailable", metadata: ["error": "\(error)"])
        }
        return [:]
    }
}
