import Foundation
import PostgresNIO
import WireModels

/// What the delivery funnel is grouped by (API: `group_by`). Each case names the SQL expression
/// of its key; the values are fixed here, never taken from a request.
public enum DeliveryGrouping: String, Sendable, CaseIterable {
    case template
    case campaign
    /// The contact's current owner.
    case owner
    /// The business number (`phone_number_id`) the message was sent from.
    case phoneNumber = "phone_number"

    var keySQL: String {
        switch self {
        case .template: "m.template"
        case .campaign: "m.campaign_id::text"
        case .owner: "c.owner_id::text"
        case .phoneNumber: "m.phone_number_id"
        }
    }
}

/// One group of the delivery funnel: outbound messages created in the range, counted by how far
/// they got. `sent`, `delivered` and `read` are cumulative (a read message was also delivered
/// and sent); `failed` counts messages whose current status is failed (a later delivered/read
/// proves delivery, so such a message counts as delivered, not failed); `replied` counts
/// messages that an inbound message quotes (`context.id`), i.e. replies attributed to it and so
/// to its campaign. `errors_by_code` splits `failed` by the error code (`unknown` without one).
public struct DeliveryReportRow: Sendable, Equatable, Encodable {
    public var key: String?
    public var total: Int
    public var accepted: Int
    public var sent: Int
    public var delivered: Int
    public var read: Int
    public var failed: Int
    public var replied: Int
    public var errorsByCode: [String: Int]

    enum CodingKeys: String, CodingKey {
        case key, total, accepted, sent, delivered, read, failed, replied
        case errorsByCode = "errors_by_code"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)  // explicit null: messages without a template, campaign, owner
        try c.encode(total, forKey: .total)
        try c.encode(accepted, forKey: .accepted)
        try c.encode(sent, forKey: .sent)
        try c.encode(delivered, forKey: .delivered)
        try c.encode(read, forKey: .read)
        try c.encode(failed, forKey: .failed)
        try c.encode(replied, forKey: .replied)
        try c.encode(errorsByCode, forKey: .errorsByCode)
    }
}

/// One error code of failed messages in the range.
public struct ErrorReportRow: Sendable, Equatable, Encodable {
    public var code: Int?
    public var title: String?
    public var messages: Int

    enum CodingKeys: String, CodingKey { case code, title, messages }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(title, forKey: .title)
        try c.encode(messages, forKey: .messages)
    }
}

/// The delivery reports, computed from `messages` at query time. The reporter keeps each
/// message's current status and per-status times forward-only and idempotent
/// (`StatusStore.apply`), so every count here is a function of the set of status events seen,
/// whatever their order or how often they were delivered (ARCHITECTURE.md, "Reports").
public enum DeliveryReportStore {
    /// `replied` joins the set of wamids quoted by inbound messages since the range's start (a
    /// reply always comes after its message): one hash join instead of a probe per message,
    /// which at 100k messages also kept PostgreSQL's JIT (triggered by the probes' estimated
    /// cost, ~0.9 s of compiling) out of it.
    public static func funnel(
        _ range: ReportRange, by grouping: DeliveryGrouping, on client: PostgresClient, logger: Logger
    ) async throws -> [DeliveryReportRow] {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                """
                SELECT \(unescaped: grouping.keySQL) AS key, count(*)::int,
                       count(*) FILTER (WHERE m.status = 'accepted')::int,
                       count(m.sent_at)::int, count(m.delivered_at)::int, count(m.read_at)::int,
                       count(*) FILTER (WHERE m.status = 'failed')::int, count(r.wamid)::int
                FROM messages m \(unescaped: grouping == .owner ? "LEFT JOIN contacts c ON c.id = m.contact_id" : "")
                LEFT JOIN (SELECT DISTINCT context_wamid AS wamid FROM messages
                           WHERE direction = 'inbound' AND context_wamid IS NOT NULL
                             AND created_at >= \(range.since)) r ON r.wamid = m.wamid
                WHERE m.direction = 'outbound' AND m.created_at >= \(range.since) AND m.created_at < \(range.until)
                GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST
                """, logger: logger)
            var out: [DeliveryReportRow] = []
            var index: [String: Int] = [:]
            for try await (key, total, accepted, sent, delivered, read, failed, replied) in rows.decode(
                (String?, Int, Int, Int, Int, Int, Int, Int).self)
            {
                index[key ?? ""] = out.count
                out.append(
                    DeliveryReportRow(
                        key: key, total: total, accepted: accepted, sent: sent, delivered: delivered, read: read,
                        failed: failed, replied: replied, errorsByCode: [:]))
            }
            let errors = try await conn.query(
                """
                SELECT \(unescaped: grouping.keySQL), COALESCE(m.last_error->>'code', 'unknown'), count(*)::int
                FROM messages m \(unescaped: grouping == .owner ? "LEFT JOIN contacts c ON c.id = m.contact_id" : "")
                WHERE m.direction = 'outbound' AND m.created_at >= \(range.since) AND m.created_at < \(range.until)
                  AND m.status = 'failed'
                GROUP BY 1, 2
                """, logger: logger)
            for try await (key, code, count) in errors.decode((String?, String, Int).self) {
                if let i = index[key ?? ""] { out[i].errorsByCode[code] = count }
            }
            return out
        }
    }

    /// Failed messages of the range by error code, most frequent first.
    public static func errors(_ range: ReportRange, on client: PostgresClient, logger: Logger) async throws
        -> [ErrorReportRow]
    {
        let rows = try await client.query(
            """
            SELECT (m.last_error->>'code')::int, min(m.last_error->>'title'), count(*)::int
            FROM messages m
            WHERE m.direction = 'outbound' AND m.created_at >= \(range.since) AND m.created_at < \(range.until)
              AND m.status = 'failed'
            GROUP BY 1 ORDER BY 3 DESC, 1 NULLS LAST
            """, logger: logger)
        var out: [ErrorReportRow] = []
        for try await (code, title, count) in rows.decode((Int?, String?, Int).self) {
            out.append(ErrorReportRow(code: code, title: title, messages: count))
        }
        return out
    }
}
