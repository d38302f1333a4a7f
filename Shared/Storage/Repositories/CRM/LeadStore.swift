import Foundation
import PostgresNIO
import WireModels

public struct LeadRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var contactId: UUID
    public var status: String
    public var stage: String
    public var ownerId: UUID?
    public var source: JSONValue?
    public var campaignId: UUID?
    public var phoneNumberId: String?
    public var openedAt: Date
    public var lastActivityAt: Date
    public var closedAt: Date?
    public var version: Int

    enum CodingKeys: String, CodingKey {
        case id
        case contactId = "contact_id"
        case status, stage
        case ownerId = "owner_id"
        case source
        case campaignId = "campaign_id"
        case phoneNumberId = "phone_number_id"
        case openedAt = "opened_at"
        case lastActivityAt = "last_activity_at"
        case closedAt = "closed_at"
        case version
    }

    public var json: JSONValue {
        get throws { try JSONCoding.decoder().decode(JSONValue.self, from: try JSONCoding.encoder().encode(self)) }
    }
}

/// Leads: at most one open per contact (a partial unique index), so a won or lost lead lets
/// the next enquiry open a new one. Callers hold the contact's row lock (the matcher's upsert
/// takes it), which serializes opening; the index is the guarantee.
public enum LeadStore {
    /// The contact's open lead, if any.
    public static func open(contactId: UUID, on conn: PostgresConnection, logger: Logger) async throws -> LeadRow? {
        let rows = try await conn.query(
            "SELECT \(unescaped: columns) FROM leads WHERE contact_id = \(contactId) AND status = 'open'",
            logger: logger)
        return try await decode(rows).first
    }

    /// Opens a lead unless one is open already (then nil: the caller attaches to that one).
    public static func openNew(
        contactId: UUID, ownerId: UUID?, stage: String, source: JSONValue?, campaignId: UUID?, phoneNumberId: String,
        wamid: String, at: Date, on conn: PostgresConnection, logger: Logger
    ) async throws -> LeadRow? {
        let sourceJSON = try source.map { try JSONCoding.text($0) }
        let rows = try await conn.query(
            """
            INSERT INTO leads (contact_id, owner_id, stage, source, campaign_id, phone_number_id, opened_by_wamid,
                               opened_at, last_activity_at)
            VALUES (\(contactId), \(ownerId), \(stage), \(sourceJSON)::jsonb, \(campaignId), \(phoneNumberId), \(wamid),
                    \(at), \(at))
            ON CONFLICT (contact_id) WHERE status = 'open' DO NOTHING
            RETURNING \(unescaped: columns)
            """, logger: logger)
        return try await decode(rows).first
    }

    public static func touch(id: UUID, at: Date, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query(
            "UPDATE leads SET last_activity_at = GREATEST(last_activity_at, \(at)) WHERE id = \(id)", logger: logger)
    }

    /// The open lead of each contact that has one (contact id → lead id).
    public static func openIds(contactIds: [UUID], on conn: PostgresConnection, logger: Logger) async throws
        -> [UUID: UUID]
    {
        guard !contactIds.isEmpty else { return [:] }
        let rows = try await conn.query(
            "SELECT contact_id, id FROM leads WHERE contact_id = ANY(\(contactIds)::uuid[]) AND status = 'open'",
            logger: logger)
        var out: [UUID: UUID] = [:]
        for try await (contact, lead) in rows.decode((UUID, UUID).self) { out[contact] = lead }
        return out
    }

    /// `touch` for many (lead, time) pairs in one statement; a lead touched twice keeps the later time.
    public static func touch(_ touches: [(id: UUID, at: Date)], on conn: PostgresConnection, logger: Logger)
        async throws
    {
        guard !touches.isEmpty else { return }
        try await conn.query(
            """
            UPDATE leads l SET last_activity_at = GREATEST(l.last_activity_at, t.at)
            FROM (SELECT id, max(at) AS at FROM unnest(\(touches.map(\.id))::uuid[], \(touches.map(\.at))::timestamptz[])
                  AS u(id, at) GROUP BY id) t
            WHERE l.id = t.id
            """, logger: logger)
    }

    static let columns = """
        id, contact_id, status, stage, owner_id, source::text, campaign_id, phone_number_id, opened_at,
        last_activity_at, closed_at, version
        """

    public static func decode(_ rows: PostgresRowSequence) async throws -> [LeadRow] {
        var out: [LeadRow] = []
        for try await row in rows { out.append(try decode(row)) }
        return out
    }
}
