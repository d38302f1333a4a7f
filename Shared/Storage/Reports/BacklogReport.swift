import Foundation
import PostgresNIO

/// The work waiting in PostgreSQL, stage by stage: what the reporter exports as gauges for the
/// dashboards and alerts, and what `crmctl status` prints. Every count reads a partial index
/// (unsettled sends, due jobs, pending deliveries, running campaigns), so a probe every few
/// seconds stays cheap however many settled rows there are.
public struct Backlog: Sendable, Equatable, Encodable {
    /// Send requests not settled yet.
    public struct Sends: Sendable, Equatable, Encodable {
        public var queued = 0
        public var sending = 0
        public var unknown = 0
        /// The retry queue: waiting for their next attempt, and how many of them are due now.
        public var retrying = 0
        public var retryingDue = 0
        /// How long the oldest retrying request has been waiting since it was created.
        public var oldestRetryingSeconds = 0.0

        enum CodingKeys: String, CodingKey {
            case queued, sending, unknown, retrying
            case retryingDue = "retrying_due"
            case oldestRetryingSeconds = "oldest_retrying_seconds"
        }
    }

    /// Scheduled jobs (task reminders, no-reply timers).
    public struct Scheduler: Sendable, Equatable, Encodable {
        public var pending = 0
        /// Due now and not fired yet.
        public var due = 0
        /// Due more than a minute ago: the scheduler is behind or stopped.
        public var overdue = 0
        public var oldestOverdueSeconds = 0.0
        /// Claimed by a replica whose lease ran out: another one takes them over.
        public var expiredLeases = 0

        enum CodingKeys: String, CodingKey {
            case pending, due, overdue
            case oldestOverdueSeconds = "oldest_overdue_seconds"
            case expiredLeases = "expired_leases"
        }
    }

    /// A running or paused campaign's progress.
    public struct Campaign: Sendable, Equatable, Encodable {
        public var id: UUID
        public var name: String
        public var state: String
        public var recipients: Int
        /// Recipients not published yet.
        public var pending: Int
        /// Its sends by state (`queued`, `sending`, `sent`, `retrying`, `failed`, …).
        public var sends: [String: Int]
        /// Failed sends by the last Meta error code (`policy` when a rule refused it).
        public var failuresByCode: [String: Int]

        /// Share of recipients published and settled (sent, failed or blocked), 0…1.
        public var progress: Double {
            guard recipients > 0 else { return 1 }
            let settled = ["sent", "failed", "blocked"].reduce(0) { $0 + (sends[$1] ?? 0) }
            return min(1, Double(settled) / Double(recipients))
        }

        enum CodingKeys: String, CodingKey {
            case id, name, state, recipients, pending, sends, progress
            case failuresByCode = "failures_by_code"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(state, forKey: .state)
            try c.encode(recipients, forKey: .recipients)
            try c.encode(pending, forKey: .pending)
            try c.encode(sends, forKey: .sends)
            try c.encode(progress, forKey: .progress)
            try c.encode(failuresByCode, forKey: .failuresByCode)
        }
    }

    /// An outbound-webhook endpoint with deliveries waiting.
    public struct Endpoint: Sendable, Equatable, Encodable {
        public var id: UUID
        /// Scheme and host only: a URL's path or query may carry a token.
        public var host: String
        public var pending: Int
        public var oldestPendingSeconds: Double

        enum CodingKeys: String, CodingKey {
            case id, host, pending
            case oldestPendingSeconds = "oldest_pending_seconds"
        }
    }

    /// A business number's configured pace and whether Meta has paused it.
    public struct Number: Sendable, Equatable, Encodable {
        public var phoneNumberId: String
        public var messagesPerSecond: Int
        /// Seconds left of a pause (throttling, auth error, halt); 0 when sending freely.
        public var pausedSeconds: Double
        public var pauseReason: String?

        enum CodingKeys: String, CodingKey {
            case phoneNumberId = "phone_number_id"
            case messagesPerSecond = "messages_per_second"
            case pausedSeconds = "paused_seconds"
            case pauseReason = "pause_reason"
        }
    }

    /// One of the most recent open failures.
    public struct RecentFailure: Sendable, Equatable, Encodable {
        public var id: Int64
        public var stage: String
        public var eventId: String?
        public var error: String
        public var lastAt: Date

        enum CodingKeys: String, CodingKey {
            case id, stage, error
            case eventId = "event_id"
            case lastAt = "last_at"
        }
    }

    public var sends = Sends()
    public var scheduler = Scheduler()
    public var campaigns: [Campaign] = []
    public var endpoints: [Endpoint] = []
    public var numbers: [Number] = []
    /// Open failures per stage (every stage that has ever had one, 0 when all are handled).
    public var openFailures: [String: Int] = [:]
    public var recentFailures: [RecentFailure] = []

    enum CodingKeys: String, CodingKey {
        case sends, scheduler, campaigns, endpoints, numbers
        case openFailures = "open_failures"
        case recentFailures = "recent_failures"
    }
}

/// Reads `Backlog` in one read-only snapshot.
public enum BacklogReport {
    /// Numbers known to the sender's pacing or stored by an operator; `defaultMPS` for the
    /// ones without a row of their own.
    public static func read(
        defaultMPS: Int, recentFailures limit: Int = 5, on postgres: PostgresClient, logger: Logger
    ) async throws -> Backlog {
        try await postgres.transaction(logger: logger) { conn in
            try await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var backlog = Backlog()
            backlog.sends = try await sends(conn, logger)
            backlog.scheduler = try await scheduler(conn, logger)
            backlog.campaigns = try await campaigns(conn, logger)
            backlog.endpoints = try await endpoints(conn, logger)
            backlog.numbers = try await numbers(defaultMPS: defaultMPS, conn, logger)
            (backlog.openFailures, backlog.recentFailures) = try await failures(limit: limit, conn, logger)
            return backlog
        }
    }

    static func sends(_ conn: PostgresConnection, _ logger: Logger) async throws -> Backlog.Sends {
        var sends = Backlog.Sends()
        let unsettled = try await conn.query(
            """
            SELECT state, count(*)::int FROM send_requests
            WHERE state IN ('queued', 'sending', 'unknown') GROUP BY state
            """, logger: logger)
        for try await (state, count) in unsettled.decode((String, Int).self) {
            switch state {
            case "queued": sends.queued = count
            case "sending": sends.sending = count
            default: sends.unknown = count
            }
        }
        let retrying = try await conn.query(
            """
            SELECT count(*)::int, (count(*) FILTER (WHERE next_attempt_at <= now()))::int,
                   COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8
            FROM send_requests WHERE state = 'retrying'
            """, logger: logger)
        for try await (count, due, oldest) in retrying.decode((Int, Int, Double).self) {
            (sends.retrying, sends.retryingDue, sends.oldestRetryingSeconds) = (count, due, max(0, oldest))
        }
        return sends
    }

    static func scheduler(_ conn: PostgresConnection, _ logger: Logger) async throws -> Backlog.Scheduler {
        var scheduler = Backlog.Scheduler()
        let rows = try await conn.query(
            """
            SELECT (count(*) FILTER (WHERE state = 'pending'))::int,
                   (count(*) FILTER (WHERE due_at <= now()))::int,
                   (count(*) FILTER (WHERE due_at < now() - interval '1 minute'))::int,
                   COALESCE(extract(epoch FROM now() - min(due_at) FILTER (WHERE due_at < now() - interval '1 minute')),
                            0)::float8,
                   (count(*) FILTER (WHERE state = 'claimed' AND lease_until < now()))::int
            FROM scheduled_jobs WHERE state IN ('pending', 'claimed')
            """, logger: logger)
        for try await (pending, due, overdue, oldest, expired) in rows.decode((Int, Int, Int, Double, Int).self) {
            scheduler = Backlog.Scheduler(
                pending: pending, due: due, overdue: overdue, oldestOverdueSeconds: max(0, oldest),
                expiredLeases: expired)
        }
        return scheduler
    }

    static func campaigns(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Backlog.Campaign] {
        var campaigns: [Backlog.Campaign] = []
        let rows = try await conn.query(
            """
            SELECT c.id, c.name, c.state, c.recipients,
                   (SELECT count(*)::int FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.state = 'pending'),
                   (SELECT count(*)::int FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.state = 'blocked')
            FROM campaigns c WHERE c.state IN ('running', 'paused') ORDER BY c.created_at, c.id
            """, logger: logger)
        for try await (id, name, state, recipients, pending, blocked) in rows.decode(
            (UUID, String, String, Int, Int, Int).self)
        {
            campaigns.append(
                Backlog.Campaign(
                    id: id, name: name, state: state, recipients: recipients, pending: pending,
                    sends: blocked > 0 ? ["blocked": blocked] : [:], failuresByCode: [:]))
        }
        guard !campaigns.isEmpty else { return [] }
        let ids = campaigns.map(\.id)
        let states = try await conn.query(
            """
            SELECT campaign_id, state, count(*)::int FROM send_requests
            WHERE campaign_id = ANY(\(ids)) GROUP BY campaign_id, state
            """, logger: logger)
        for try await (id, state, count) in states.decode((UUID, String, Int).self) {
            guard let i = campaigns.firstIndex(where: { $0.id == id }) else { continue }
            campaigns[i].sends[state, default: 0] += count
        }
        let codes = try await conn.query(
            """
            SELECT s.campaign_id, COALESCE(a.error_code::text, CASE WHEN s.state = 'blocked' THEN 'policy' END, 'none'),
                   count(*)::int
            FROM send_requests s
            LEFT JOIN LATERAL (
                SELECT error_code FROM send_attempts WHERE request_id = s.request_id ORDER BY attempt DESC LIMIT 1) a
                ON true
            WHERE s.campaign_id = ANY(\(ids)) AND s.state IN ('failed', 'blocked')
            GROUP BY 1, 2
            """, logger: logger)
        for try await (id, code, count) in codes.decode((UUID, String, Int).self) {
            guard let i = campaigns.firstIndex(where: { $0.id == id }) else { continue }
            campaigns[i].failuresByCode[code, default: 0] += count
        }
        return campaigns
    }

    static func endpoints(_ conn: PostgresConnection, _ logger: Logger) async throws -> [Backlog.Endpoint] {
        var endpoints: [Backlog.Endpoint] = []
        let rows = try await conn.query(
            """
            SELECT w.id, w.url, COALESCE(p.pending, 0), COALESCE(p.oldest, 0)::float8
            FROM outbound_webhooks w
            LEFT JOIN (
                SELECT webhook_id, count(*)::int AS pending, extract(epoch FROM now() - min(created_at)) AS oldest
                FROM webhook_deliveries WHERE state IN ('pending', 'retrying', 'delivering') GROUP BY webhook_id
            ) p ON p.webhook_id = w.id
            WHERE w.active OR p.pending > 0
            ORDER BY w.created_at, w.id
            """, logger: logger)
        for try await (id, url, pending, oldest) in rows.decode((UUID, String, Int, Double).self) {
            endpoints.append(
                Backlog.Endpoint(id: id, host: Self.origin(url), pending: pending, oldestPendingSeconds: max(0, oldest))
            )
        }
        return endpoints
    }

    static func numbers(defaultMPS: Int, _ conn: PostgresConnection, _ logger: Logger) async throws
        -> [Backlog.Number]
    {
        var numbers: [Backlog.Number] = []
        let rows = try await conn.query(
            """
            SELECT COALESCE(p.phone_number_id, s.phone_number_id), p.messages_per_second,
                   COALESCE(GREATEST(extract(epoch FROM s.paused_until - now()), 0), 0)::float8,
                   CASE WHEN s.paused_until > now() THEN s.pause_reason END
            FROM wa_phone_numbers p FULL JOIN sender_numbers s ON s.phone_number_id = p.phone_number_id
            ORDER BY 1
            """, logger: logger)
        for try await (id, mps, paused, reason) in rows.decode((String, Int?, Double, String?).self) {
            numbers.append(
                Backlog.Number(
                    phoneNumberId: id, messagesPerSecond: mps ?? defaultMPS, pausedSeconds: paused,
                    pauseReason: reason))
        }
        return numbers
    }

    static func failures(limit: Int, _ conn: PostgresConnection, _ logger: Logger) async throws
        -> ([String: Int], [Backlog.RecentFailure])
    {
        var open: [String: Int] = [:]
        let counts = try await conn.query(
            "SELECT stage, (count(*) FILTER (WHERE state = 'open'))::int FROM failures GROUP BY stage", logger: logger)
        for try await (stage, count) in counts.decode((String, Int).self) { open[stage] = count }
        var recent: [Backlog.RecentFailure] = []
        let rows = try await conn.query(
            """
            SELECT id, stage, event_id, error, last_at FROM failures WHERE state = 'open'
            ORDER BY last_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        for try await (id, stage, eventId, error, at) in rows.decode((Int64, String, String?, String, Date).self) {
            recent.append(Backlog.RecentFailure(id: id, stage: stage, eventId: eventId, error: error, lastAt: at))
        }
        return (open, recent)
    }

    /// `https://hooks.example.com/path?token=…` → `https://hooks.example.com`.
    static func origin(_ url: String) -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host else {
            return "(invalid url)"
        }
        return "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? "")
    }
}
