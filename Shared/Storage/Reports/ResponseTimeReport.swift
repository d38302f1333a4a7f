import Foundation
import PostgresNIO

/// First-response time of one owner's conversations opened in the range:
/// `first_response_at − opened_at` (set by crm-matcher from `wa.outbound.result`; campaign
/// broadcasts are not answers). Percentiles are over answered conversations only
/// (`percentile_cont`, interpolated); `unanswered` counts the others.
public struct ResponseTimeRow: Sendable, Equatable, Encodable {
    /// The contact's current owner (`key` as in the other reports); nil for unowned contacts.
    public var key: UUID?
    public var conversations: Int
    public var answered: Int
    public var unanswered: Int { conversations - answered }
    public var p50Seconds: Double?
    public var p90Seconds: Double?

    enum CodingKeys: String, CodingKey {
        case key, conversations, answered, unanswered
        case p50Seconds = "p50_seconds"
        case p90Seconds = "p90_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key?.uuidString.lowercased(), forKey: .key)
        try c.encode(conversations, forKey: .conversations)
        try c.encode(answered, forKey: .answered)
        try c.encode(unanswered, forKey: .unanswered)
        try c.encode(p50Seconds, forKey: .p50Seconds)
        try c.encode(p90Seconds, forKey: .p90Seconds)
    }
}

public enum ResponseTimeReportStore {
    /// Per owner, ordered by owner id (unowned last).
    public static func byOwner(_ range: ReportRange, on client: PostgresClient, logger: Logger) async throws
        -> [ResponseTimeRow]
    {
        let rows = try await client.query(
            """
            SELECT owner_id, count(*)::int, count(seconds)::int,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds)
            FROM (SELECT c.owner_id, extract(epoch FROM v.first_response_at - v.opened_at)::float8 AS seconds
                  FROM conversations v JOIN contacts c ON c.id = v.contact_id
                  WHERE v.opened_at >= \(range.since) AND v.opened_at < \(range.until)) t
            GROUP BY 1 ORDER BY 1 NULLS LAST
            """, logger: logger)
        var out: [ResponseTimeRow] = []
        for try await (owner, conversations, answered, p50, p90) in rows.decode(
            (UUID?, Int, Int, Double?, Double?).self)
        {
            out.append(
                ResponseTimeRow(
                    key: owner, conversations: conversations, answered: answered, p50Seconds: p50, p90Seconds: p90))
        }
        return out
    }
}
