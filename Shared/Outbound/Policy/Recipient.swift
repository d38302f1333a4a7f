import Foundation
import Logging
import PostgresNIO

/// What the policy gate knows about a recipient: the contact (if any), whether they opted
/// out, when they last wrote to us (the customer-service window) and whether they are a
/// configured test recipient.
public struct Recipient: Sendable, Equatable {
    public var waId: String
    public var contactId: UUID?
    public var fields: [String: String] = [:]
    public var optedOut = false
    public var lastInboundAt: Date?
    public var isTestRecipient = false

    public static let serviceWindow: TimeInterval = 24 * 3600

    public init(waId: String) {
        self.waId = waId
    }

    public func insideServiceWindow(now: Date = Date()) -> Bool {
        guard let lastInboundAt else { return false }
        return now.timeIntervalSince(lastInboundAt) < Self.serviceWindow
    }

    public static func load(waId: String, on client: PostgresClient, logger: Logger) async throws -> Recipient {
        var recipient = Recipient(waId: waId)
        let phone = "+" + waId
        let contacts = try await client.query(
            """
            SELECT id, coalesce(name, profile_name, ''), coalesce(profile_name, ''), coalesce(phone, ''),
                   coalesce(wa_id, ''), opted_out
            FROM contacts WHERE wa_id = \(waId) OR phone = \(phone)
            ORDER BY (wa_id = \(waId)) DESC LIMIT 1
            """, logger: logger)
        for try await (id, name, profile, phone, wa, optedOut) in contacts.decode(
            (UUID, String, String, String, String, Bool).self)
        {
            recipient.contactId = id
            recipient.optedOut = optedOut
            recipient.fields = ["name": name, "profile_name": profile, "phone": phone, "wa_id": wa].filter {
                !$0.value.isEmpty
            }
        }
        let last = try await client.query(
            """
            SELECT max(coalesce(meta_timestamp, created_at)) FROM messages
            WHERE direction = 'inbound' AND (counterpart_wa_id = \(waId) OR contact_id = \(recipient.contactId))
            """, logger: logger)
        for try await at in last.decode(Date?.self) { recipient.lastInboundAt = at }
        let test = try await client.query("SELECT 1 FROM test_recipients WHERE phone = \(phone)", logger: logger)
        for try await _ in test { recipient.isTestRecipient = true }
        return recipient
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
