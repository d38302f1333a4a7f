import Foundation
import PostgresNIO
import WireModels

/// The audit log: every write through the API, with who made it and the record before and
/// after. Written on the same connection (transaction) as the change it describes, so a
/// change is never committed without its entry.
public enum AuditStore {
    public static func record(
        actor: String, action: String, entity: String, entityId: String?, before: JSONValue?, after: JSONValue?,
        on conn: PostgresConnection, logger: Logger
    ) async throws {
        let beforeJSON = try before.map { try JSONCoding.text($0) }
        let afterJSON = try after.map { try JSONCoding.text($0) }
        try await conn.query(
            """
            INSERT INTO audit_log (actor, action, entity, entity_id, before, after)
            VALUES (\(actor), \(action), \(entity), \(entityId), \(beforeJSON)::jsonb, \(afterJSON)::jsonb)
            """, logger: logger)
    }
}
