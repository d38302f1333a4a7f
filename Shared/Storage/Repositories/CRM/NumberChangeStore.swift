import Foundation
import PostgresNIO
import WireModels

/// `user_changed_number`: the contact moves to the new number and keeps its id, so messages,
/// leads and conversations stay with it; the old number is kept in `contact_number_changes`.
public enum NumberChangeStore {
    public enum Outcome: Sendable, Equatable {
        /// Moved; the contact's version after the move.
        case moved(version: Int, oldPhone: String?, newPhone: String?)
        /// Another contact already has the new number (it wrote before the change was notified):
        /// nothing moves, the change is recorded for a person to merge.
        case conflict(otherContactId: UUID)
        /// This change was recorded before (a redelivery).
        case alreadyRecorded
    }

    public static func move(
        contactId: UUID, newWaId: String, wamid: String, at: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> Outcome {
        let key = ContactMatchKey(waId: newWaId)
        var current: (phone: String?, waId: String?)?
        for try await row in try await conn.query(
            "SELECT phone, wa_id FROM contacts WHERE id = \(contactId) FOR UPDATE", logger: logger
        ).decode((String?, String?).self) { current = (row.0, row.1) }
        guard let current else { throw StorageError.invalid("contact \(contactId) vanished") }
        var other: UUID?
        for try await id in try await conn.query(
            "SELECT id FROM contacts WHERE match_key = \(key.key) AND id <> \(contactId)", logger: logger
        ).decode(UUID.self) { other = id }
        let outcome = other == nil ? "moved" : "conflict"
        let recorded = try await conn.query(
            """
            INSERT INTO contact_number_changes (contact_id, old_phone, old_wa_id, new_phone, new_wa_id, wamid, outcome,
                                                conflicting_contact_id, changed_at)
            VALUES (\(contactId), \(current.phone), \(current.waId), \(key.phone), \(newWaId), \(wamid), \(outcome),
                    \(other), \(at))
            ON CONFLICT (wamid) DO NOTHING
            RETURNING id
            """, logger: logger)
        var isNew = false
        for try await _ in recorded { isNew = true }
        guard isNew else { return .alreadyRecorded }
        if let other { return .conflict(otherContactId: other) }
        var version = 0
        for try await v in try await conn.query(
            """
            UPDATE contacts SET match_key = \(key.key), phone = \(key.phone), wa_id = \(newWaId),
                version = version + 1, updated_at = now()
            WHERE id = \(contactId) RETURNING version
            """, logger: logger
        ).decode(Int.self) { version = v }
        return .moved(version: version, oldPhone: current.phone, newPhone: key.phone)
    }
}
