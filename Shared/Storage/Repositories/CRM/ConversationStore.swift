import Foundation
import PostgresNIO

/// A conversation (thread) of one contact with one business number: opened by an inbound
/// message, kept while messages keep coming within the idle window, and timed from the first
/// inbound to the first response of ours. One current (not closed) conversation per contact
/// and number, enforced by a partial unique index.
public enum ConversationStore {
    public struct Touch: Sendable, Equatable {
        public var id: UUID
        /// This message opened the conversation.
        public var opened: Bool
        /// The conversation's last activity after this message (what the idle window counts from).
        public var lastActivity: Date
    }

    /// Records an inbound message: extends the current conversation, or (none, or idle longer
    /// than `idle`) closes it and opens a new one. `current` is the conversation as the caller
    /// read it with `current(contactIds:)` (nil: none), locked, while it holds the contact's
    /// row lock, so nothing moved it since.
    public static func recordInbound(
        contactId: UUID, phoneNumberId: String, leadId: UUID?, wamid: String, at: Date, idle: Duration,
        current found: (id: UUID, lastActivity: Date)?, on conn: PostgresConnection, logger: Logger
    ) async throws -> Touch {
        let idleSeconds = Double(idle.components.seconds)
        if let found {
            let (id, lastActivity) = found
            if at.timeIntervalSince(lastActivity) < idleSeconds {
                try await conn.query(
                    """
                    UPDATE conversations SET last_inbound_at = GREATEST(last_inbound_at, \(at)),
                        lead_id = COALESCE(\(leadId), lead_id)
                    WHERE id = \(id)
                    """, logger: logger)
                return Touch(id: id, opened: false, lastActivity: max(lastActivity, at))
            }
            try await conn.query(
                "UPDATE conversations SET closed_at = \(lastActivity) WHERE id = \(id)", logger: logger)
        }
        let inserted = try await conn.query(
            """
            INSERT INTO conversations (contact_id, phone_number_id, lead_id, opened_by_wamid, opened_at, last_inbound_at)
            VALUES (\(contactId), \(phoneNumberId), \(leadId), \(wamid), \(at), \(at))
            RETURNING id
            """, logger: logger)
        for try await id in inserted.decode(UUID.self) { return Touch(id: id, opened: true, lastActivity: at) }
        throw StorageError.invalid("conversation insert returned no row")
    }

    /// The current conversation of each (contact, business number) of these contacts, with
    /// its last activity (as `recordInbound` measures the idle window), locked for update.
    public static func current(contactIds: [UUID], on conn: PostgresConnection, logger: Logger) async throws
        -> [Key: (id: UUID, lastActivity: Date)]
    {
        guard !contactIds.isEmpty else { return [:] }
        let rows = try await conn.query(
            """
            SELECT contact_id, phone_number_id, id, GREATEST(last_inbound_at, COALESCE(last_outbound_at, last_inbound_at))
            FROM conversations WHERE contact_id = ANY(\(contactIds)::uuid[]) AND closed_at IS NULL
            FOR UPDATE
            """, logger: logger)
        var out: [Key: (id: UUID, lastActivity: Date)] = [:]
        for try await (contact, number, id, last) in rows.decode((UUID, String, UUID, Date).self) {
            out[Key(contactId: contact, phoneNumberId: number)] = (id, last)
        }
        return out
    }

    public struct Key: Hashable, Sendable {
        public var contactId: UUID
        public var phoneNumberId: String

        public init(contactId: UUID, phoneNumberId: String) {
            self.contactId = contactId
            self.phoneNumberId = phoneNumberId
        }
    }

    /// Extends current conversations with inbound messages inside their idle window (what
    /// `recordInbound` does when it does not open one), in one statement.
    public static func extend(
        _ touches: [(id: UUID, at: Date, leadId: UUID?)], on conn: PostgresConnection, logger: Logger
    ) async throws {
        guard !touches.isEmpty else { return }
        try await conn.query(
            """
            UPDATE conversations c SET last_inbound_at = GREATEST(c.last_inbound_at, t.at),
                lead_id = COALESCE(t.lead, c.lead_id)
            FROM (SELECT id, max(at) AS at, max(NULLIF(lead, ''))::uuid AS lead
                  FROM unnest(\(touches.map(\.id))::uuid[], \(touches.map(\.at))::timestamptz[],
                              \(touches.map { $0.leadId?.uuidString ?? "" })::text[]) AS u(id, at, lead)
                  GROUP BY id) t
            WHERE c.id = t.id
            """, logger: logger)
    }

    /// Records an outbound message of ours in the contact's current conversation with that
    /// number; the first one after the conversation opened is its first response. Returns the
    /// conversation id when this set the first response (nil otherwise: no conversation, or
    /// already answered, or sent before the conversation opened).
    public static func recordOutbound(
        contactId: UUID, phoneNumberId: String, wamid: String, at: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> (id: UUID, openedAt: Date)? {
        try await conn.query(
            """
            UPDATE conversations SET last_outbound_at = GREATEST(COALESCE(last_outbound_at, \(at)), \(at))
            WHERE contact_id = \(contactId) AND phone_number_id = \(phoneNumberId) AND closed_at IS NULL
              AND opened_at <= \(at)
            """, logger: logger)
        let rows = try await conn.query(
            """
            UPDATE conversations SET first_response_at = \(at), first_response_wamid = \(wamid)
            WHERE contact_id = \(contactId) AND phone_number_id = \(phoneNumberId) AND closed_at IS NULL
              AND first_response_at IS NULL AND opened_at <= \(at)
            RETURNING id, opened_at
            """, logger: logger)
        for try await (id, opened) in rows.decode((UUID, Date).self) { return (id, opened) }
        return nil
    }
}
