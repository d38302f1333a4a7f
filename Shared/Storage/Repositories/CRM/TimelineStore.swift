import Foundation
import PostgresNIO
import WireModels

/// One entry of a contact's timeline: a message (with its wamid) or a CRM change from the
/// activity log (lead opened/closed, consent, owner, number and name changes, conversations).
public struct TimelineItem: Sendable, Encodable, Equatable {
    public var kind: String
    public var at: Date
    public var wamid: String?
    public var direction: String?
    public var type: String?
    public var text: String?
    public var status: String?
    public var entity: String?
    public var entityId: String?
    public var actor: String?
    public var data: JSONValue?

    enum CodingKeys: String, CodingKey {
        case kind, at, wamid, direction, type, text, status, entity
        case entityId = "entity_id"
        case actor, data
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(at, forKey: .at)
        // Only the fields of the item's kind: a message has no entity, a change no wamid.
        try c.encodeIfPresent(wamid, forKey: .wamid)
        try c.encodeIfPresent(direction, forKey: .direction)
        try c.encodeIfPresent(type, forKey: .type)
        try c.encodeIfPresent(text, forKey: .text)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encodeIfPresent(entity, forKey: .entity)
        try c.encodeIfPresent(entityId, forKey: .entityId)
        try c.encodeIfPresent(actor, forKey: .actor)
        try c.encodeIfPresent(data, forKey: .data)
    }
}

public enum TimelineStore {
    /// Oldest first (messages by WhatsApp's time, else when stored); `offset` pages through it.
    public static func items(
        contactId: UUID, offset: Int, limit: Int, on conn: PostgresConnection, logger: Logger
    ) async throws -> [TimelineItem] {
        let rows = try await conn.query(
            """
            SELECT kind, at, wamid, direction, type, text, status, entity, entity_id, actor, data FROM (
                SELECT 'message' AS kind, COALESCE(meta_timestamp, created_at) AS at, wamid, direction, type, text,
                       status, NULL::text AS entity, NULL::text AS entity_id, NULL::text AS actor, NULL::text AS data,
                       0 AS ord, 0::bigint AS seq
                FROM messages WHERE contact_id = \(contactId)
                UNION ALL
                SELECT kind, at, NULL, NULL, NULL, NULL, NULL, entity, entity_id, actor, data::text, 1, id
                FROM crm_activity WHERE contact_id = \(contactId)
            ) t
            ORDER BY at, ord, seq, wamid
            OFFSET \(offset) LIMIT \(limit)
            """, logger: logger)
        var out: [TimelineItem] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            let data = try r[10].decode(String?.self)
            out.append(
                TimelineItem(
                    kind: try r[0].decode(String.self), at: try r[1].decode(Date.self),
                    wamid: try r[2].decode(String?.self), direction: try r[3].decode(String?.self),
                    type: try r[4].decode(String?.self), text: try r[5].decode(String?.self),
                    status: try r[6].decode(String?.self), entity: try r[7].decode(String?.self),
                    entityId: try r[8].decode(String?.self), actor: try r[9].decode(String?.self),
                    data: try data.map { try JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) }))
        }
        return out
    }
}
