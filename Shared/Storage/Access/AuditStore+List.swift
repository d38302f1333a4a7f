import Foundation
import PostgresNIO
import WireModels

public struct AuditEntry: Sendable, Codable, Equatable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var entity: String
    public var entityId: String?
    public var before: JSONValue?
    public var after: JSONValue?

    enum CodingKeys: String, CodingKey {
        case id, at, actor, action, entity
        case entityId = "entity_id"
        case before, after
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(at, forKey: .at)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(entity, forKey: .entity)
        try c.encode(entityId, forKey: .entityId)  // explicit nulls: a create has no "before"
        try c.encode(before, forKey: .before)
        try c.encode(after, forKey: .after)
    }
}

extension AuditStore {
    /// Newest first; `page.after` is the id of the last entry of the previous page.
    public static func list(
        actor: String?, entity: String?, since: Date?, page: PageRequest<Int64>, on client: PostgresClient,
        logger: Logger
    ) async throws -> [AuditEntry] {
        let rows = try await client.query(
            """
            SELECT id, at, actor, action, entity, entity_id, before::text, after::text FROM audit_log
            WHERE (\(actor)::text IS NULL OR actor = \(actor))
              AND (\(entity)::text IS NULL OR entity = \(entity))
              AND (\(since)::timestamptz IS NULL OR at >= \(since))
              AND (\(page.after)::bigint IS NULL OR id < \(page.after))
            ORDER BY id DESC LIMIT \(page.limit)
            """, logger: logger)
        let decoder = JSONCoding.decoder()
        var out: [AuditEntry] = []
        for try await (id, at, actor, action, entity, entityId, before, after) in rows.decode(
            (Int64, Date, String, String, String, String?, String?, String?).self)
        {
            out.append(
                AuditEntry(
                    id: id, at: at, actor: actor, action: action, entity: entity, entityId: entityId,
                    before: try before.map { try decoder.decode(JSONValue.self, from: Data($0.utf8)) },
                    after: try after.map { try decoder.decode(JSONValue.self, from: Data($0.utf8)) }))
        }
        return out
    }

    /// Records `value` (any API representation) as JSON.
    public static func record(
        actor: UUID, action: String, entity: String, entityId: String, before: (any Encodable)?,
        after: (any Encodable)?,
        on conn: PostgresConnection, logger: Logger
    ) async throws {
        try await record(
            actor: actor.uuidString.lowercased(), action: action, entity: entity, entityId: entityId,
            before: try before.map { try JSONValue(encoding: $0) },
            after: try after.map { try JSONValue(encoding: $0) },
            on: conn, logger: logger)
    }
}
