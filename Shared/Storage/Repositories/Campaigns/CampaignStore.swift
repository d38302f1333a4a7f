import CRMCore
import Foundation
import PostgresNIO
import WireModels

/// A campaign as the API shows it.
public struct CampaignRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var template: String
    public var language: String
    public var phoneNumberId: String?
    /// The audience definition: `{"filters": {...}}` or `{"csv": {"columns": [...], "rows": n}}`.
    public var audience: JSONValue
    public var state: CampaignState
    public var recipients: Int
    public var excludedOptedOut: Int
    public var excludedNoPhone: Int
    /// CSV rows left out (`skip_invalid_rows`): `[{row, reason}]`.
    public var rejectedRows: JSONValue
    public var createdBy: String
    public var launchedBy: UUID?
    public var launchedAt: Date?
    public var pausedAt: Date?
    public var doneAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, template, language
        case phoneNumberId = "phone_number_id"
        case audience, state, recipients
        case excludedOptedOut = "excluded_opted_out"
        case excludedNoPhone = "excluded_no_phone"
        case rejectedRows = "rejected_rows"
        case createdBy = "created_by"
        case launchedBy = "launched_by"
        case launchedAt = "launched_at"
        case pausedAt = "paused_at"
        case doneAt = "done_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public var json: JSONValue { get throws { try JSONValue(encoding: self) } }
}

/// Campaigns and their audiences. State changes only through `transition`.
public enum CampaignStore {
    static let columns = """
        id, name, template_name, template_language, phone_number_id, audience::text, state, recipients,
        excluded_opted_out, excluded_no_phone, rejected_rows::text, created_by, launched_by, launched_at, paused_at,
        done_at, created_at, updated_at
        """

    public static func create(
        name: String, template: String, language: String, phoneNumberId: String?, audience: JSONValue,
        createdBy: String, on conn: PostgresConnection, logger: Logger
    ) async throws -> CampaignRow {
        let audienceJSON = try text(audience)
        let rows = try await conn.query(
            """
            INSERT INTO campaigns (name, template_name, template_language, phone_number_id, audience, created_by)
            VALUES (\(name), \(template), \(language), \(phoneNumberId), \(audienceJSON)::jsonb, \(createdBy))
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let row = try await decode(rows).first else { throw StorageError.invalid("insert returned no row") }
        return row
    }

    /// Inserts the members (a phone once per campaign; later duplicates are dropped by the
    /// caller, which reports them) and stores the counts.
    public static func materialize(
        _ members: [AudienceMember], campaignId: UUID, excludedOptedOut: Int, excludedNoPhone: Int,
        rejectedRows: JSONValue, on conn: PostgresConnection, logger: Logger
    ) async throws -> CampaignRow {
        let encoder = JSONCoding.encoder()
        let rejectedJSON = try text(rejectedRows)
        for start in stride(from: 0, to: members.count, by: 1000) {
            let chunk = members[start..<min(start + 1000, members.count)]
            let phones = chunk.map(\.phone)
            let contacts = chunk.map { $0.contactId?.uuidString ?? "" }
            let numbers = chunk.map { $0.row ?? 0 }
            let cols = try chunk.map { String(decoding: try encoder.encode($0.columns), as: UTF8.self) }
            try await conn.query(
                """
                INSERT INTO campaign_recipients (campaign_id, phone, contact_id, row_number, columns)
                SELECT \(campaignId), u.phone,
                    COALESCE(NULLIF(u.contact, '')::uuid,
                             (SELECT c.id FROM contacts c WHERE c.wa_id = u.phone OR c.phone = '+' || u.phone
                              ORDER BY (c.wa_id = u.phone) DESC LIMIT 1)),
                    NULLIF(u.row_number, 0), u.columns::jsonb
                FROM unnest(\(phones)::text[], \(contacts)::text[], \(numbers)::int[], \(cols)::text[])
                    AS u(phone, contact, row_number, columns)
                ON CONFLICT (campaign_id, phone) DO NOTHING
                """, logger: logger)
        }
        let rows = try await conn.query(
            """
            UPDATE campaigns SET
                recipients = (SELECT count(*) FROM campaign_recipients WHERE campaign_id = \(campaignId)),
                excluded_opted_out = \(excludedOptedOut), excluded_no_phone = \(excludedNoPhone),
                rejected_rows = \(rejectedJSON)::jsonb, updated_at = now()
            WHERE id = \(campaignId) RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let row = try await decode(rows).first else { throw StorageError.invalid("campaign vanished") }
        return row
    }

    public static func get(id: UUID, on client: PostgresClient, logger: Logger) async throws -> CampaignRow? {
        try await decode(
            try await client.query("SELECT \(unescaped: columns) FROM campaigns WHERE id = \(id)", logger: logger)
        ).first
    }

    public static func get(id: UUID, lock: Bool, on conn: PostgresConnection, logger: Logger) async throws
        -> CampaignRow?
    {
        try await decode(
            try await conn.query(
                "SELECT \(unescaped: columns) FROM campaigns WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")",
                logger: logger)
        ).first
    }

    /// Newest first, keyset-paged.
    public static func list(
        state: CampaignState?, after cursor: KeysetCursor?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> (rows: [CampaignRow], last: KeysetCursor?) {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns), (extract(epoch FROM created_at) * 1000000)::bigint FROM campaigns
            WHERE (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
              AND (\(cursor?.micros)::bigint IS NULL
                   OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < (\(cursor?.micros), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var out: [CampaignRow] = []
        var last: KeysetCursor?
        for try await row in rows {
            let campaign = try decode(row)
            out.append(campaign)
            last = KeysetCursor(micros: try row.makeRandomAccess()[18].decode(Int64.self), id: campaign.id)
        }
        return (out, out.count == limit ? last : nil)
    }

    /// The one way a campaign changes state: applied only if the current state allows `event`
    /// (a conditional UPDATE, so racing callers cannot both win). Returns the row before and
    /// after, or nil when the campaign is missing or its state does not allow `event`.
    public static func transition(
        _ id: UUID, _ event: CampaignState.Event, by user: UUID? = nil, on conn: PostgresConnection, logger: Logger
    ) async throws -> (before: CampaignRow, after: CampaignRow)? {
        guard let before = try await get(id: id, lock: true, on: conn, logger: logger),
            let next = before.state.after(event)
        else { return nil }
        let rows = try await conn.query(
            """
            UPDATE campaigns SET state = \(next.rawValue), updated_at = now(),
                launched_by = CASE WHEN \(event == .launch) THEN COALESCE(launched_by, \(user)) ELSE launched_by END,
                launched_at = CASE WHEN \(event == .launch) THEN COALESCE(launched_at, now()) ELSE launched_at END,
                paused_at = CASE WHEN \(event == .pause) THEN now() ELSE paused_at END,
                done_at = CASE WHEN \(event == .finish) THEN now() ELSE done_at END
            WHERE id = \(id) AND state = \(before.state.rawValue)
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let after = try await decode(rows).first else { return nil }
        return (before, after)
    }

    static func text(_ value: JSONValue) throws -> String {
        try JSONCoding.text(value)
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [CampaignRow] {
        var out: [CampaignRow] = []
        for try await row in rows { out.append(try decode(row)) }
        return out
    }

    static func decode(_ row: PostgresRow) throws -> CampaignRow {
        let r = row.makeRandomAccess()
        let decoder = JSONCoding.decoder()
        let stateText = try r[6].decode(String.self)
        guard let state = CampaignState(rawValue: stateText) else {
            throw StorageError.invalid("unknown campaign state \(stateText)")
        }
        return CampaignRow(
            id: try r[0].decode(UUID.self), name: try r[1].decode(String.self), template: try r[2].decode(String.self),
            language: try r[3].decode(String.self), phoneNumberId: try r[4].decode(String?.self),
            audience: try decoder.decode(JSONValue.self, from: Data(try r[5].decode(String.self).utf8)),
            state: state, recipients: try r[7].decode(Int.self), excludedOptedOut: try r[8].decode(Int.self),
            excludedNoPhone: try r[9].decode(Int.self),
            rejectedRows: try decoder.decode(JSONValue.self, from: Data(try r[10].decode(String.self).utf8)),
            createdBy: try r[11].decode(String.self), launchedBy: try r[12].decode(UUID?.self),
            launchedAt: try r[13].decode(Date?.self), pausedAt: try r[14].decode(Date?.self),
            doneAt: try r[15].decode(Date?.self), createdAt: try r[16].decode(Date.self),
            updatedAt: try r[17].decode(Date.self))
    }
}
