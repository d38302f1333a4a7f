import Foundation
import PostgresNIO

/// Row-level scope of an agent (API.md: agents see and act only on the contacts they own, the
/// messages of those contacts and the sends to them), as SQL predicates. Each check answers
/// true for records inside the owner's scope only.
public enum OwnerChecks {
    /// Whether `owner` owns the contact with this phone (digits, no '+') or WhatsApp id.
    public static func ownsContact(phoneDigits: String, owner: UUID, on client: PostgresClient, logger: Logger)
        async throws -> Bool
    {
        try await exists(
            client.query(
                """
                SELECT 1 FROM contacts WHERE owner_id = \(owner) AND (phone = \("+" + phoneDigits) OR wa_id = \(phoneDigits))
                """, logger: logger))
    }

    /// A message is in scope when its contact is owned by `owner`.
    public static func seesMessage(wamid: String, owner: UUID, on client: PostgresClient, logger: Logger) async throws
        -> Bool
    {
        try await exists(
            client.query(
                """
                SELECT 1 FROM messages m JOIN contacts c ON c.id = m.contact_id
                WHERE m.wamid = \(wamid) AND c.owner_id = \(owner)
                """, logger: logger))
    }

    /// A send is in scope when `owner` requested it or owns the recipient contact.
    public static func seesSend(requestId: String, owner: UUID, on client: PostgresClient, logger: Logger) async throws
        -> Bool
    {
        try await exists(
            client.query(
                """
                SELECT 1 FROM send_requests s
                WHERE s.request_id = \(requestId)
                  AND (lower(s.requested_by) = \(owner.uuidString.lowercased())
                       OR EXISTS (SELECT 1 FROM contacts c WHERE c.owner_id = \(owner)
                                  AND (c.wa_id = s.to_wa_id OR c.phone = '+' || s.to_wa_id)))
                """, logger: logger))
    }

    static func exists(_ rows: PostgresRowSequence) async throws -> Bool {
        for try await _ in rows { return true }
        return false
    }
}
