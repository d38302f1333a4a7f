import Foundation
import PostgresNIO

/// The consent ledger: every opt-out or opt-in request (when, how, which message), and the
/// contact's resulting `opted_out` flag. `sourceEventId` makes a redelivered request a no-op.
public enum ConsentStore {
    public struct Change: Sendable, Equatable {
        public var ledgerId: Int64
        /// The contact's version after the change, nil when the flag already had that value.
        public var contactVersion: Int?
    }

    /// Records the request and sets the contact's flag. Returns nil when `sourceEventId` was
    /// recorded before (a redelivery).
    public static func record(
        contactId: UUID, optedOut: Bool, how: String, detail: String?, wamid: String?, sourceEventId: String?,
        actor: String, at: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> Change? {
        let inserted = try await conn.query(
            """
            INSERT INTO consent_ledger (contact_id, opted_out, how, detail, wamid, source_event_id, actor, at)
            VALUES (\(contactId), \(optedOut), \(how), \(detail), \(wamid), \(sourceEventId), \(actor), \(at))
            ON CONFLICT (source_event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        var ledgerId: Int64?
        for try await id in inserted.decode(Int64.self) { ledgerId = id }
        guard let ledgerId else { return nil }
        let updated = try await conn.query(
            """
            UPDATE contacts SET opted_out = \(optedOut), opted_out_at = CASE WHEN \(optedOut) THEN \(at) END,
                version = version + 1, updated_at = now()
            WHERE id = \(contactId) AND opted_out <> \(optedOut)
            RETURNING version
            """, logger: logger)
        var version: Int?
        for try await v in updated.decode(Int.self) { version = v }
        return Change(ledgerId: ledgerId, contactVersion: version)
    }
}
