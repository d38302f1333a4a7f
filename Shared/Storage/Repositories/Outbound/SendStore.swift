import Foundation
import PostgresNIO
import WireModels

/// A send request as the API shows it: state, wamid once accepted, and every attempt.
public struct SendState: Sendable, Codable, Equatable {
    public struct Attempt: Sendable, Codable, Equatable {
        public var attempt: Int
        public var at: Date
        public var httpStatus: Int?
        public var errorCode: Int?
        public var retryable: Bool
        public var decision: String
        public var nextAttemptAt: Date?
        enum CodingKeys: String, CodingKey {
            case attempt, at
            case httpStatus = "http_status"
            case errorCode = "error_code"
            case retryable, decision
            case nextAttemptAt = "next_attempt_at"
        }
    }

    public var requestId: String
    public var state: String
    public var to: String
    public var kind: String = "text"
    public var template: String?
    public var language: String?
    public var campaignId: String?
    public var test: Bool = false
    /// Why the policy gate refused the send (`code: message`), for state `blocked`.
    public var blockedReason: String?
    public var nextAttemptAt: Date?
    public var wamid: String?
    public var attempts: [Attempt]
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id"
        case state, to, kind, template, language
        case campaignId = "campaign_id"
        case test
        case blockedReason = "blocked_reason"
        case nextAttemptAt = "next_attempt_at"
        case wamid, attempts
        case createdAt = "created_at"
    }
}

/// Outbound send requests and every attempt made for them.
public enum SendStore {
    /// Who made the request with this id, if it exists.
    public static func requester(requestId: String, on client: PostgresClient, logger: Logger) async throws -> String? {
        let rows = try await client.query(
            "SELECT coalesce(requested_by, '') FROM send_requests WHERE request_id = \(requestId)", logger: logger)
        for try await who in rows.decode(String.self) { return who }
        return nil
    }

    public static func get(requestId: String, on client: PostgresClient, logger: Logger) async throws -> SendState? {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                """
                SELECT request_id, state, to_wa_id, wamid, created_at, kind, template_name, template_language,
                       campaign_id::text, test, blocked_reason, next_attempt_at
                FROM send_requests WHERE request_id = \(requestId)
                """, logger: logger)
            var found: SendState?
            for try await (id, state, to, wamid, created, kind, template, language, campaign, test, reason, next)
                in rows.decode(
                    (String, String, String, String?, Date, String, String?, String?, String?, Bool, String?, Date?)
                        .self)
            {
                found = SendState(
                    requestId: id, state: state, to: "+" + to, kind: kind, template: template, language: language,
                    campaignId: campaign, test: test, blockedReason: reason,
                    nextAttemptAt: state == "retrying" ? next : nil, wamid: wamid, attempts: [], createdAt: created)
            }
            guard var send = found else { return nil }
            let attempts = try await conn.query(
                """
                SELECT attempt, at, http_status, error_code, retryable, decision, next_attempt_at FROM send_attempts
                WHERE request_id = \(requestId) ORDER BY attempt
                """, logger: logger)
            for try await (n, at, http, code, retryable, decision, next) in attempts.decode(
                (Int, Date, Int?, Int?, Bool, String, Date?).self)
            {
                send.attempts.append(
                    .init(
                        attempt: n, at: at, httpStatus: http, errorCode: code, retryable: retryable, decision: decision,
                        nextAttemptAt: next))
            }
            return send
        }
    }

    /// Registers the request once (an existing one is not reset); returns its current state
    /// and whether this call created it. `state` is `queued` (the sender claims it from the topic,
    /// or from this row if the topic record never arrives) or `blocked` for a refusal.
    @discardableResult
    public static func register(
        _ r: OutboundRequest, state: String = "queued", blockedReason: String? = nil, traceParent: String? = nil,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> (state: String, created: Bool) {
        let payload = try JSONCoding.text(r)
        let kind = r.template == nil ? "text" : "template"
        let inserted = try await conn.query(
            """
            INSERT INTO send_requests (request_id, to_wa_id, phone_number_id, payload, state, requested_by, kind,
                                       template_name, template_language, campaign_id, test, blocked_reason, trace_parent)
            VALUES (\(r.requestId), \(r.to), \(r.phoneNumberId), \(payload)::jsonb, \(state), \(r.requestedBy), \(kind),
                    \(r.template?.name), \(r.template?.language), \(r.campaignId)::uuid, \(r.test), \(blockedReason),
                    \(traceParent))
            ON CONFLICT (request_id) DO NOTHING
            RETURNING state
            """, logger: logger)
        for try await state in inserted.decode(String.self) { return (state, true) }
        let rows = try await conn.query(
            "SELECT state FROM send_requests WHERE request_id = \(r.requestId)", logger: logger)
        for try await state in rows.decode(String.self) { return (state, false) }
        throw StorageError.invalid("send request \(r.requestId) vanished")
    }

    /// A failed send an operator replays: back to `queued` with a fresh retry budget, only if it
    /// is still `failed` (never a send that is sent, in flight or unknown). Returns its state
    /// when it was not failed.
    public static func reopenFailed(requestId: String, on client: PostgresClient, logger: Logger) async throws
        -> String?
    {
        let rows = try await client.query(
            """
            UPDATE send_requests SET state = 'queued', http_attempts = 0, next_attempt_at = NULL, updated_at = now()
            WHERE request_id = \(requestId) AND state = 'failed' RETURNING state
            """, logger: logger)
        for try await _ in rows { return nil }
        for try await state in try await client.query(
            "SELECT state FROM send_requests WHERE request_id = \(requestId)", logger: logger
        ).decode(String.self) {
            return state
        }
        return "missing"
    }

    /// The policy gate refused the request: terminal, with the reason shown by the API.
    public static func block(requestId: String, reason: String, on conn: PostgresConnection, logger: Logger)
        async throws
    {
        try await conn.query(
            """
            UPDATE send_requests SET state = 'blocked', blocked_reason = \(reason), next_attempt_at = NULL,
                   updated_at = now()
            WHERE request_id = \(requestId) AND state NOT IN ('sent', 'failed')
            """, logger: logger)
    }

    /// Claims due requests of the retry queue: like a first claim, each moves to `sending`
    /// leased to `owner` for `lease` seconds. `FOR UPDATE SKIP LOCKED` lets concurrent pollers
    /// (other replicas) pass each other; a poller that dies mid-attempt leaves an expired lease
    /// for the sweeper (`SendStore.sweep`).
    public static func claimDue(limit: Int, owner: String, lease: Double, on client: PostgresClient, logger: Logger)
        async throws -> [Claimed]
    {
        let rows = try await client.query(
            """
            UPDATE send_requests s SET state = 'sending', lease_owner = \(owner),
                   lease_until = now() + make_interval(secs => \(lease)), graph_call_at = NULL, call_message = NULL,
                   next_attempt_at = NULL, updated_at = now()
            WHERE s.request_id IN (
                SELECT request_id FROM send_requests WHERE state = 'retrying' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING s.payload::text, s.http_attempts,
                      (SELECT count(*)::int FROM send_attempts a WHERE a.request_id = s.request_id), s.created_at,
                      s.trace_parent
            """, logger: logger)
        var out: [(Claimed, Date)] = []
        let decoder = JSONCoding.decoder()
        for try await (payload, http, attempts, created, trace) in rows.decode((String, Int, Int, Date, String?).self) {
            let request = try decoder.decode(OutboundRequest.self, from: Data(payload.utf8))
            out.append((Claimed(request: request, attempts: attempts, httpAttempts: http, traceParent: trace), created))
        }
        // Oldest first, so a recipient's requests keep their order (`SendExecutor.rounds`).
        return out.sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// One attempt (an HTTP call when `calledAPI`, else a governor deferral) and the request's
    /// new state; `nextAttemptAt` puts it in the retry queue.
    public static func recordAttempt(
        requestId: String, attempt: Int, httpStatus: Int?, error: WhatsAppError?, retryable: Bool, decision: String,
        newState: String, wamid: String?, nextAttemptAt: Date? = nil, calledAPI: Bool = true,
        on conn: PostgresConnection, logger: Logger
    ) async throws {
        let errorJSON = try error.map { try JSONCoding.text($0) }
        try await conn.query(
            """
            INSERT INTO send_attempts (request_id, attempt, http_status, error_code, error, retryable, decision,
                                       next_attempt_at)
            VALUES (\(requestId), \(attempt), \(httpStatus), \(error?.code), \(errorJSON)::jsonb, \(retryable),
                    \(decision), \(nextAttemptAt))
            ON CONFLICT (request_id, attempt) DO NOTHING
            """, logger: logger)
        let increment = calledAPI ? 1 : 0
        try await conn.query(
            """
            UPDATE send_requests SET state = \(newState), wamid = COALESCE(\(wamid), wamid), updated_at = now(),
                   next_attempt_at = \(nextAttemptAt), http_attempts = http_attempts + \(increment),
                   lease_owner = NULL, lease_until = NULL
            WHERE request_id = \(requestId)
            """, logger: logger)
    }
}

extension SendStore {
    /// Recipient, number and whether a campaign sent it, for each request id found.
    public static func recipients(requestIds: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> [(id: String, waId: String, phoneNumberId: String?, campaign: Bool)]
    {
        guard !requestIds.isEmpty else { return [] }
        let rows = try await conn.query(
            """
            SELECT request_id, to_wa_id, phone_number_id, payload->>'campaign_id' IS NOT NULL
            FROM send_requests WHERE request_id = ANY(\(requestIds)::text[])
            """, logger: logger)
        var out: [(id: String, waId: String, phoneNumberId: String?, campaign: Bool)] = []
        for try await row in rows.decode((String, String, String?, Bool).self) { out.append(row) }
        return out
    }
}
