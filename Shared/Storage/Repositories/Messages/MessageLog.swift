import Foundation
import PostgresNIO
import WireModels

/// The message-log search (API `GET /messages`): every filter is optional; `status` is the
/// current status. The phone filter is a contact match key (`ContactMatchKey`), so any typed
/// form of a number finds the contact's messages.
public struct MessageFilter: Sendable, Equatable {
    public var contactId: UUID?
    public var matchKey: String?
    public var direction: String?
    public var status: String?
    public var template: String?
    public var campaignId: UUID?
    public var since: Date?
    public var until: Date?

    public init() {}
}

/// Keyset position of the message log (newest first): `created_at` in microseconds since 1970
/// and the wamid, as an opaque text (`micros_wamid`).
public struct MessageLogCursor: Sendable, Equatable {
    public var micros: Int64
    public var wamid: String

    public init(micros: Int64, wamid: String) {
        self.micros = micros
        self.wamid = wamid
    }

    public init?(_ text: String) {
        guard let split = text.firstIndex(of: "_"), let micros = Int64(text[..<split]) else { return nil }
        let wamid = String(text[text.index(after: split)...])
        guard !wamid.isEmpty else { return nil }
        self.init(micros: micros, wamid: wamid)
    }

    public var text: String { "\(micros)_\(wamid)" }
}

extension MessageStore {
    /// The columns `MessageRow` is decoded from (`decodeRow`), plus the keyset position.
    static let rowColumns = """
        m.wamid, m.direction, m.contact_id, m.phone_number_id, m.type, m.text, m.template, m.campaign_id, m.status,
        (m.last_error->>'code')::int, m.last_error->>'title', m.created_at,
        (extract(epoch FROM m.created_at) * 1000000)::bigint
        """

    static func decodeRow(_ row: PostgresRow) throws -> (MessageRow, MessageLogCursor) {
        let (w, dir, contact, pn, type, text, template, campaign, status, errCode, errTitle, created, micros) =
            try row.decode(
                (
                    String, String, UUID?, String?, String, String?, String?, UUID?, String?, Int?, String?, Date,
                    Int64
                ).self)
        let message = MessageRow(
            wamid: w, direction: dir, contactId: contact, phoneNumberId: pn, type: type, text: text,
            template: template, campaignId: campaign, status: status, statusHistory: [],
            error: errCode.map { .init(code: $0, title: errTitle) }, createdAt: created)
        return (message, MessageLogCursor(micros: micros, wamid: w))
    }

    /// Fills `statusHistory` of each message with one query (time order; same-time events by rank).
    static func withHistory(_ messages: [MessageRow], on conn: PostgresConnection, logger: Logger) async throws
        -> [MessageRow]
    {
        guard !messages.isEmpty else { return [] }
        let rows = try await conn.query(
            """
            SELECT wamid, status, occurred_at, error_code FROM message_status_events
            WHERE wamid = ANY(\(messages.map(\.wamid))) ORDER BY wamid, occurred_at, crm_status_rank(status), id
            """, logger: logger)
        var history: [String: [MessageRow.StatusHistoryItem]] = [:]
        for try await (wamid, status, at, code) in rows.decode((String, String, Date, Int?).self) {
            history[wamid, default: []].append(.init(status: status, at: at, errorCode: code))
        }
        return messages.map { m in
            var m = m
            m.statusHistory = history[m.wamid] ?? []
            return m
        }
    }

    /// One page of the log, newest first, each with its status history. `owner` limits it to the
    /// messages of contacts that user owns (agents). Returns the next cursor when the page is full.
    public static func search(
        _ f: MessageFilter, owner: UUID?, after cursor: MessageLogCursor?, limit: Int, on client: PostgresClient,
        logger: Logger
    ) async throws -> (items: [MessageRow], next: MessageLogCursor?) {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                matching(f, owner: owner, after: cursor, limit: limit, select: rowColumns), logger: logger)
            var items: [MessageRow] = []
            var last: MessageLogCursor?
            for try await row in rows {
                let (message, position) = try decodeRow(row)
                items.append(message)
                last = position
            }
            return (try await withHistory(items, on: conn, logger: logger), items.count == limit ? last : nil)
        }
    }

    /// How many messages match, counting no further than `limit` (an export's size check).
    public static func count(
        _ f: MessageFilter, owner: UUID?, after cursor: MessageLogCursor?, upTo limit: Int, on client: PostgresClient,
        logger: Logger
    ) async throws -> Int {
        var query = matching(f, owner: owner, after: cursor, limit: limit, select: "1")
        query.sql = "SELECT count(*)::int FROM (\(query.sql)) q"
        for try await n in try await client.query(query, logger: logger).decode(Int.self) { return n }
        return 0
    }

    /// The log's query: every filter, the cursor, newest first. Each `$n IS NULL OR …` folds away
    /// when PostgreSQL plans with the bound values, so the plan uses the index of the filters given.
    static func matching(
        _ f: MessageFilter, owner: UUID?, after cursor: MessageLogCursor?, limit: Int, select: String
    ) -> PostgresQuery {
        """
        SELECT \(unescaped: select) FROM messages m
        WHERE (\(owner)::uuid IS NULL OR m.contact_id IN (SELECT id FROM contacts WHERE owner_id = \(owner)))
          AND (\(f.contactId)::uuid IS NULL OR m.contact_id = \(f.contactId))
          AND (\(f.matchKey)::text IS NULL
               OR m.contact_id IN (SELECT id FROM contacts WHERE match_key = \(f.matchKey)))
          AND (\(f.direction)::text IS NULL OR m.direction = \(f.direction))
          AND (\(f.status)::text IS NULL OR m.status = \(f.status))
          AND (\(f.template)::text IS NULL OR m.template = \(f.template))
          AND (\(f.campaignId)::uuid IS NULL OR m.campaign_id = \(f.campaignId))
          AND (\(f.since)::timestamptz IS NULL OR m.created_at >= \(f.since))
          AND (\(f.until)::timestamptz IS NULL OR m.created_at < \(f.until))
          AND (\(cursor?.micros)::bigint IS NULL
               OR (m.created_at, m.wamid)
                  < (timestamptz 'epoch' + \(cursor?.micros) * interval '1 microsecond', \(cursor?.wamid)))
        ORDER BY m.created_at DESC, m.wamid DESC
        LIMIT \(limit)
        """
    }
}
