import Foundation
import PostgresNIO
import WireModels

/// One recipient as `GET /campaigns/{id}/recipients` shows it (from `campaign_recipient_states`).
public struct CampaignRecipientState: Sendable, Codable, Equatable {
    public var phone: String
    public var contactId: UUID?
    public var row: Int?
    /// pending, queued, sent, delivered, read or failed.
    public var state: String
    public var requestId: String?
    public var wamid: String?
    /// Meta's error code of a failed send or `failed` status.
    public var errorCode: Int?
    /// The policy gate's refusal (`code: message`) of a recipient it blocked.
    public var blockedReason: String?
    public var replied: Bool
    public var repliedAt: Date?
    public var updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case phone
        case contactId = "contact_id"
        case row, state
        case requestId = "request_id"
        case wamid
        case errorCode = "error_code"
        case blockedReason = "blocked_reason"
        case replied
        case repliedAt = "replied_at"
        case updatedAt = "updated_at"
    }
}

/// `GET /campaigns/{id}/report`. `sent` counts recipients whose message Meta accepted and that
/// did not fail since (so sent ≥ delivered ≥ read); `queued` counts those not settled yet
/// (`pending` of them not even published); `failed` includes policy refusals, which
/// `errors_by_code` lists as `blocked:<refusal code>` beside Meta's numeric codes.
public struct CampaignReport: Sendable, Codable, Equatable {
    public var recipients = 0
    public var pending = 0
    public var queued = 0
    public var sent = 0
    public var delivered = 0
    public var read = 0
    public var failed = 0
    public var replied = 0
    public var errorsByCode: [String: Int] = [:]
    public var excludedOptedOut = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case recipients, pending, queued, sent, delivered, read, failed, replied
        case errorsByCode = "errors_by_code"
        case excludedOptedOut = "excluded_opted_out"
    }
}

/// How the latest test send of a campaign for one template + mapping fingerprint went.
public enum TestSendOutcome: Sendable, Equatable {
    case none
    /// Some test requests are still queued or retrying.
    case pending
    /// Some test requests failed or were blocked: `phone: reason` each.
    case failed([String])
    /// Every test recipient's send was accepted by Meta (it has a wamid).
    case passed
}

extension CampaignStore {
    // MARK: - Test sends

    public static func recordTestSend(
        campaignId: UUID, batch: UUID, requestId: String, phone: String, fingerprint: String,
        on conn: PostgresConnection, logger: Logger
    ) async throws {
        try await conn.query(
            """
            INSERT INTO campaign_test_sends (campaign_id, batch_id, request_id, phone, fingerprint)
            VALUES (\(campaignId), \(batch), \(requestId), \(phone), \(fingerprint))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The newest test batch for `fingerprint`: passed only when every request in it reached
    /// `sent` (Meta accepted it and returned a wamid) and none failed afterwards.
    public static func testOutcome(
        campaignId: UUID, fingerprint: String, on client: PostgresClient, logger: Logger
    ) async throws -> TestSendOutcome {
        let rows = try await client.query(
            """
            SELECT t.phone, COALESCE(s.state, 'queued'), s.blocked_reason, m.status, (m.last_error->>'code')::int,
                   (SELECT a.error_code FROM send_attempts a WHERE a.request_id = t.request_id
                    ORDER BY a.attempt DESC LIMIT 1)
            FROM campaign_test_sends t
            LEFT JOIN send_requests s ON s.request_id = t.request_id
            LEFT JOIN messages m ON m.wamid = s.wamid AND m.direction = 'outbound'
            WHERE t.campaign_id = \(campaignId) AND t.batch_id = (
                SELECT batch_id FROM campaign_test_sends
                WHERE campaign_id = \(campaignId) AND fingerprint = \(fingerprint)
                ORDER BY created_at DESC LIMIT 1)
            ORDER BY t.phone
            """, logger: logger)
        var any = false
        var pending = false
        var failures: [String] = []
        for try await (phone, state, reason, status, statusCode, attemptCode) in rows.decode(
            (String, String, String?, String?, Int?, Int?).self)
        {
            any = true
            switch (state, status) {
            case (_, "failed"?): failures.append("\(phone): failed with \(statusCode.map(String.init) ?? "an error")")
            case ("sent", _): break
            case ("blocked", _): failures.append("\(phone): blocked (\(reason ?? "refused"))")
            case ("failed", _): failures.append("\(phone): failed with \(attemptCode.map(String.init) ?? "an error")")
            default: pending = true
            }
        }
        if !any { return .none }
        if !failures.isEmpty { return .failed(failures) }
        return pending ? .pending : .passed
    }

    // MARK: - Rollout

    public static func running(on client: PostgresClient, logger: Logger) async throws -> [UUID] {
        var out: [UUID] = []
        let rows = try await client.query(
            "SELECT id FROM campaigns WHERE state = 'running' ORDER BY launched_at, id", logger: logger)
        for try await id in rows.decode(UUID.self) { out.append(id) }
        return out
    }

    /// Locks a running campaign for one rollout step; nil when it is not running any more or
    /// another replica holds it. A pause waits for this lock, so once the pause has answered
    /// no further chunk of that campaign is published.
    public static func lockRunning(_ id: UUID, on conn: PostgresConnection, logger: Logger) async throws
        -> CampaignRow?
    {
        try await decode(
            try await conn.query(
                """
                SELECT \(unescaped: columns) FROM campaigns WHERE id = \(id) AND state = 'running'
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
        ).first
    }

    /// The next recipients to publish (phone and CSV columns), in phone order.
    public static func pending(campaignId: UUID, limit: Int, on conn: PostgresConnection, logger: Logger)
        async throws -> [(phone: String, columns: [String: String])]
    {
        let rows = try await conn.query(
            """
            SELECT phone, columns::text FROM campaign_recipients
            WHERE campaign_id = \(campaignId) AND state = 'pending' ORDER BY phone LIMIT \(limit)
            """, logger: logger)
        var out: [(phone: String, columns: [String: String])] = []
        let decoder = JSONCoding.decoder()
        for try await (phone, text) in rows.decode((String, String).self) {
            out.append((phone, (try? decoder.decode([String: String].self, from: Data(text.utf8))) ?? [:]))
        }
        return out
    }

    /// Records that the recipient was handed to the send path (or refused by its gate).
    public static func markPublished(
        campaignId: UUID, phone: String, requestId: String, blockedReason: String?, on conn: PostgresConnection,
        logger: Logger
    ) async throws {
        try await conn.query(
            """
            UPDATE campaign_recipients SET state = \(blockedReason == nil ? "queued" : "blocked"),
                request_id = \(requestId), blocked_reason = \(blockedReason), queued_at = now()
            WHERE campaign_id = \(campaignId) AND phone = \(phone) AND state = 'pending'
            """, logger: logger)
    }

    /// Recipients not published yet, or published and not settled by the sender (queued,
    /// sending, retrying, unknown). A campaign is done when this is 0.
    public static func unsettled(campaignId: UUID, on conn: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await conn.query(
            """
            SELECT count(*)::int FROM campaign_recipients r
            LEFT JOIN send_requests s ON s.request_id = r.request_id
            WHERE r.campaign_id = \(campaignId)
              AND (r.state = 'pending'
                   OR (r.state = 'queued'
                       AND COALESCE(s.state, 'queued') IN ('queued', 'sending', 'retrying', 'unknown')))
            """, logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    // MARK: - Report and recipients

    public static func report(campaign: CampaignRow, on client: PostgresClient, logger: Logger) async throws
        -> CampaignReport
    {
        var report = CampaignReport()
        report.excludedOptedOut = campaign.excludedOptedOut
        let rows = try await client.query(
            """
            SELECT state, error_code, COALESCE(split_part(blocked_reason, ':', 1), ''), replied_at IS NOT NULL,
                   count(*)::int
            FROM campaign_recipient_states WHERE campaign_id = \(campaign.id)
            GROUP BY 1, 2, 3, 4
            """, logger: logger)
        for try await (state, code, blocked, replied, n) in rows.decode((String, Int?, String, Bool, Int).self) {
            report.recipients += n
            if replied { report.replied += n }
            switch state {
            case "pending":
                report.pending += n
                report.queued += n
            case "queued": report.queued += n
            case "sent": report.sent += n
            case "delivered":
                report.sent += n
                report.delivered += n
            case "read":
                report.sent += n
                report.delivered += n
                report.read += n
            default:
                report.failed += n
                let key = code.map(String.init) ?? (blocked.isEmpty ? "unknown" : "blocked:" + blocked)
                report.errorsByCode[key, default: 0] += n
            }
        }
        return report
    }

    /// Recipients in phone order after `after`, optionally in one state.
    public static func recipients(
        campaignId: UUID, state: String?, after: String?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> [CampaignRecipientState] {
        let rows = try await client.query(
            """
            SELECT phone, contact_id, row_number, state, request_id, wamid, error_code, blocked_reason, replied_at,
                   updated_at
            FROM campaign_recipient_states
            WHERE campaign_id = \(campaignId) AND (\(state)::text IS NULL OR state = \(state))
              AND (\(after)::text IS NULL OR phone > \(after))
            ORDER BY phone LIMIT \(limit)
            """, logger: logger)
        var out: [CampaignRecipientState] = []
        for try await (phone, contact, row, state, request, wamid, code, reason, replied, updated) in rows.decode(
            (String, UUID?, Int?, String, String?, String?, Int?, String?, Date?, Date?).self)
        {
            out.append(
                CampaignRecipientState(
                    phone: "+" + phone, contactId: contact, row: row, state: state, requestId: request, wamid: wamid,
                    errorCode: code, blockedReason: reason, replied: replied != nil, repliedAt: replied,
                    updatedAt: updated))
        }
        return out
    }
}

extension CampaignStore {
    /// The first recipient's CSV columns (JSON text), for previewing a mapping.
    public static func firstRecipientColumns(campaignId: UUID, on client: PostgresClient, logger: Logger) async throws
        -> String?
    {
        let rows = try await client.query(
            """
            SELECT columns::text FROM campaign_recipients WHERE campaign_id = \(campaignId)
            ORDER BY row_number NULLS LAST, phone LIMIT 1
            """, logger: logger)
        for try await text in rows.decode(String.self) { return text }
        return nil
    }
}
