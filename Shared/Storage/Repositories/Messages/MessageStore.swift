import Foundation
import PostgresNIO
import WireModels

public struct MessageRow: Sendable, Codable, Equatable {
    public struct StatusHistoryItem: Sendable, Codable, Equatable {
        public var status: String
        public var at: Date
        public var errorCode: Int?
        enum CodingKeys: String, CodingKey {
            case status, at
            case errorCode = "error_code"
        }
    }

    public struct ErrorInfo: Sendable, Codable, Equatable {
        public var code: Int
        public var title: String?
    }

    public var wamid: String
    public var direction: String
    public var contactId: UUID?
    public var phoneNumberId: String?
    public var type: String
    public var text: String?
    public var template: String?
    public var campaignId: UUID?
    public var status: String?
    public var statusHistory: [StatusHistoryItem]
    public var error: ErrorInfo?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case wamid, direction
        case contactId = "contact_id"
        case phoneNumberId = "phone_number_id"
        case type, text, template
        case campaignId = "campaign_id"
        case status
        case statusHistory = "status_history"
        case error
        case createdAt = "created_at"
    }
}

public enum MessageStore {
    /// Stores an inbound message once (wamid is the natural key); returns whether it was new.
    @discardableResult
    public static func insertInbound(
        _ m: InboundMessage, contactId: UUID, on conn: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let content = try JSONCoding.text(m.content)
        let details = try JSONCoding.text(m.details)
        let rows = try await conn.query(
            """
            INSERT INTO messages (wamid, direction, contact_id, waba_id, phone_number_id, counterpart_wa_id, type,
                                  text, content, details, context_wamid, meta_timestamp, received_at)
            VALUES (\(m.wamid), 'inbound', \(contactId), \(m.wabaId), \(m.phoneNumberId), \(m.waId), \(m.type),
                    \(m.text), \(content)::jsonb, \(details)::jsonb, \(m.contextId), \(m.timestamp), \(m.receivedAt))
            ON CONFLICT (wamid) DO NOTHING
            RETURNING wamid
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// The batch form of `insertInbound`: one statement for many messages (ON CONFLICT on the
    /// wamid keeps redeliveries harmless). `contactIds[i]` belongs to `messages[i]`. PostgresNIO
    /// binds no arrays of optionals, so "" stands for NULL in the optional columns. Returns the
    /// wamids that were new (the CRM acts on those only, so a redelivery changes nothing).
    @discardableResult
    public static func insertInboundMany(
        _ messages: [InboundMessage], contactIds: [UUID], on conn: PostgresConnection, logger: Logger
    ) async throws -> Set<String> {
        guard !messages.isEmpty else { return [] }
        let contents = messages.map(\.content.jsonText)
        let details = try messages.map { try JSONCoding.text($0.details) }
        let rows = try await conn.query(
            """
            INSERT INTO messages (wamid, direction, contact_id, waba_id, phone_number_id, counterpart_wa_id, type,
                                  text, content, details, context_wamid, meta_timestamp, received_at)
            SELECT w, 'inbound', c, wb, pn, NULLIF(cw, ''), ty, NULLIF(tx, ''), co::jsonb, de::jsonb, NULLIF(cx, ''),
                   ts, ra
            FROM unnest(\(messages.map(\.wamid))::text[], \(contactIds)::uuid[], \(messages.map(\.wabaId))::text[],
                        \(messages.map(\.phoneNumberId))::text[], \(messages.map { $0.waId ?? "" })::text[],
                        \(messages.map(\.type))::text[], \(messages.map { $0.text ?? "" })::text[], \(contents)::text[],
                        \(details)::text[], \(messages.map { $0.contextId ?? "" })::text[],
                        \(messages.map(\.timestamp))::timestamptz[], \(messages.map(\.receivedAt))::timestamptz[])
                AS t(w, c, wb, pn, cw, ty, tx, co, de, cx, ts, ra)
            ON CONFLICT (wamid) DO NOTHING
            RETURNING wamid
            """, logger: logger)
        var inserted = Set<String>()
        for try await wamid in rows.decode(String.self) { inserted.insert(wamid) }
        return inserted
    }

    /// An outbound message as accepted by the Cloud API (`insertOutbound`).
    /// Codable: the sender keeps it on the send request while the Graph call is under way
    /// (`send_requests.call_message`), with an empty wamid until Meta gives one.
    public struct Outbound: Sendable, Codable {
        public var wamid: String
        public var contactId: UUID?
        public var phoneNumberId: String
        public var toWaId: String
        public var type: String
        public var text: String?
        public var sendRequestId: String
        public var template: String?
        public var campaignId: String?
        public var content: JSONValue?
        public var wabaId: String?
        /// The send's trace: the message's statuses, arriving later in webhooks of their own,
        /// continue it.
        public var traceParent: String?

        public init(
            wamid: String, contactId: UUID?, phoneNumberId: String, toWaId: String, type: String, text: String?,
            sendRequestId: String, template: String? = nil, campaignId: String? = nil, content: JSONValue? = nil,
            wabaId: String? = nil, traceParent: String? = nil
        ) {
            self.traceParent = traceParent
            self.wamid = wamid
            self.contactId = contactId
            self.phoneNumberId = phoneNumberId
            self.toWaId = toWaId
            self.type = type
            self.text = text
            self.sendRequestId = sendRequestId
            self.template = template
            self.campaignId = campaignId
            self.content = content
            self.wabaId = wabaId
        }
    }

    /// Outbound messages as accepted by the Cloud API, in one statement. Statuses that raced
    /// ahead of these rows (kept in history) are applied right away, under the wamids' locks
    /// (`StatusStore.lock`), so a status committing at the same moment is never missed.
    public static func insertOutbound(_ messages: [Outbound], on conn: PostgresConnection, logger: Logger) async throws
    {
        guard !messages.isEmpty else { return }
        let contents = try messages.map { m in
            try m.content.map { try JSONCoding.text($0) } ?? ""
        }
        let wamids = messages.map(\.wamid)
        try await StatusStore.lock(wamids: wamids, on: conn, logger: logger)
        try await conn.query(
            """
            INSERT INTO messages (wamid, direction, contact_id, waba_id, phone_number_id, counterpart_wa_id, type, text,
                                  content, template, campaign_id, send_request_id, status, status_at, trace_parent)
            SELECT w, 'outbound', NULLIF(c, '')::uuid, NULLIF(wb, ''), pn, tw, ty, NULLIF(tx, ''), NULLIF(co, '')::jsonb, NULLIF(te, ''),
                   NULLIF(ca, '')::uuid, sr, 'accepted', now(), NULLIF(tp, '')
            FROM unnest(\(wamids)::text[], \(messages.map { $0.contactId?.uuidString ?? "" })::text[],
                        \(messages.map { $0.wabaId ?? "" })::text[], \(messages.map(\.phoneNumberId))::text[],
                        \(messages.map(\.toWaId))::text[], \(messages.map(\.type))::text[],
                        \(messages.map { $0.text ?? "" })::text[], \(contents)::text[],
                        \(messages.map { $0.template ?? "" })::text[], \(messages.map { $0.campaignId ?? "" })::text[],
                        \(messages.map(\.sendRequestId))::text[], \(messages.map { $0.traceParent ?? "" })::text[])
                AS m(w, c, wb, pn, tw, ty, tx, co, te, ca, sr, tp)
            ON CONFLICT (wamid) DO NOTHING
            """, logger: logger)
        try await StatusStore.applyRecorded(wamids: wamids, on: conn, logger: logger)
    }

    /// The traces of the sends that became these messages (wamid → `traceparent`).
    public static func traceParents(wamids: [String], on client: PostgresClient, logger: Logger) async throws
        -> [String: String]
    {
        guard !wamids.isEmpty else { return [:] }
        let rows = try await client.query(
            """
            SELECT wamid, trace_parent FROM messages
            WHERE wamid = ANY(\(Array(Set(wamids)))) AND direction = 'outbound' AND trace_parent IS NOT NULL
            """, logger: logger)
        var out: [String: String] = [:]
        for try await (wamid, trace) in rows.decode((String, String).self) { out[wamid] = trace }
        return out
    }

    public static func get(wamid: String, on client: PostgresClient, logger: Logger) async throws -> MessageRow? {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                "SELECT \(unescaped: rowColumns) FROM messages m WHERE m.wamid = \(wamid)", logger: logger)
            var found: [MessageRow] = []
            for try await row in rows { found.append(try decodeRow(row).0) }
            return try await withHistory(found, on: conn, logger: logger).first
        }
    }
}

extension MessageStore {
    /// Outbound one-to-one messages (no campaign) among `wamids` with a contact and a number,
    /// oldest first: the replies an agent or rule sent, for first-response times.
    public static func sentToContacts(wamids: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> [(wamid: String, contactId: UUID, phoneNumberId: String, at: Date)]
    {
        let rows = try await conn.query(
            """
            SELECT wamid, contact_id, phone_number_id, created_at FROM messages
            WHERE wamid = ANY(\(wamids)) AND direction = 'outbound' AND campaign_id IS NULL
              AND contact_id IS NOT NULL AND phone_number_id IS NOT NULL
            ORDER BY created_at
            """, logger: logger)
        var out: [(wamid: String, contactId: UUID, phoneNumberId: String, at: Date)] = []
        for try await row in rows.decode((String, UUID, String, Date).self) { out.append(row) }
        return out
    }

    /// The campaign of each outbound campaign message among `wamids` (what a reply's `context.id` names).
    public static func campaigns(ofOutbound wamids: [String], on conn: PostgresConnection, logger: Logger)
        async throws -> [String: UUID]
    {
        guard !wamids.isEmpty else { return [:] }
        let rows = try await conn.query(
            """
            SELECT wamid, campaign_id FROM messages
            WHERE wamid = ANY(\(wamids)) AND direction = 'outbound' AND campaign_id IS NOT NULL
            """, logger: logger)
        var out: [String: UUID] = [:]
        for try await (wamid, campaign) in rows.decode((String, UUID).self) { out[wamid] = campaign }
        return out
    }

    /// Whether anything went out to the contact at or after `since`.
    public static func sentSince(_ since: Date, to contactId: UUID, on conn: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await conn.query(
            """
            SELECT 1 FROM messages WHERE contact_id = \(contactId) AND direction = 'outbound' AND created_at >= \(since)
            LIMIT 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// What a delivery failure's wamid points at: the outbound message's contact, number,
    /// whether it was a campaign's and whether a workflow rule sent it.
    public static func outboundTargets(wamids: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> [(wamid: String, contactId: UUID, phoneNumberId: String?, campaign: Bool, byRule: Bool)]
    {
        guard !wamids.isEmpty else { return [] }
        let rows = try await conn.query(
            """
            SELECT wamid, contact_id, phone_number_id, campaign_id IS NOT NULL,
                   coalesce(send_request_id LIKE 'workflow:%', false)
            FROM messages WHERE wamid = ANY(\(wamids)::text[]) AND direction = 'outbound' AND contact_id IS NOT NULL
            """, logger: logger)
        var out: [(wamid: String, contactId: UUID, phoneNumberId: String?, campaign: Bool, byRule: Bool)] = []
        for try await row in rows.decode((String, UUID, String?, Bool, Bool).self) { out.append(row) }
        return out
    }
}
