import Foundation
import PostgresNIO
import WireModels

/// The batch forms of the sender's hot-path writes: one statement for a whole consumer batch
/// instead of a few per send, so the number's pace, not PostgreSQL round trips, bounds the
/// throughput. PostgresNIO binds no arrays of optionals, so "" stands for NULL (`NULLIF`).
extension SendStore {
    /// A request taken for sending, with the attempts made so far (rows, HTTP calls).
    public struct Claimed: Sendable {
        public var request: OutboundRequest
        public var attempts: Int
        public var httpAttempts: Int
        /// The trace the send continues (stored with the request by whoever asked for it).
        public var traceParent: String?

        public init(request: OutboundRequest, attempts: Int, httpAttempts: Int, traceParent: String? = nil) {
            self.request = request
            self.attempts = attempts
            self.httpAttempts = httpAttempts
            self.traceParent = traceParent
        }
    }

    /// Takes requests from the topic for sending, in two statements: registers the new ones
    /// (`queued`; an existing row is never reset), then claims those still `queued`: one
    /// statement moves them to `sending` and leases them to `owner` until `lease` seconds from
    /// now. A request that is already `sending` (another replica's, or this one's in a batch
    /// that is being redelivered), settled, unknown or owned by the retry queue is left out, and
    /// a request that appears twice in `requests` is claimed once: the same request id never
    /// reaches the Graph API twice from here.
    /// `traceParents`: request id → the trace of the record that brought it, kept for requests
    /// registered here (a row that exists keeps the trace its writer stored).
    public static func registerAndClaim(
        _ requests: [OutboundRequest], traceParents: [String: String] = [:], owner: String, lease: Double,
        on client: PostgresClient, logger: Logger
    ) async throws -> [Claimed] {
        var seen: Set<String> = []
        let requests = requests.filter { seen.insert($0.requestId).inserted }
        guard !requests.isEmpty else { return [] }
        let payloads = try requests.map { try JSONCoding.text($0) }
        try await client.query(
            """
            INSERT INTO send_requests (request_id, to_wa_id, phone_number_id, payload, state, requested_by, kind,
                                       template_name, template_language, campaign_id, test, trace_parent)
            SELECT id, t, NULLIF(pn, ''), p::jsonb, 'queued', NULLIF(rb, ''), k, NULLIF(tn, ''), NULLIF(tl, ''),
                   NULLIF(c, '')::uuid, te, NULLIF(tp, '')
            FROM unnest(\(requests.map(\.requestId))::text[], \(requests.map(\.to))::text[],
                        \(requests.map { $0.phoneNumberId ?? "" })::text[], \(payloads)::text[],
                        \(requests.map { $0.requestedBy ?? "" })::text[],
                        \(requests.map { $0.template == nil ? "text" : "template" })::text[],
                        \(requests.map { $0.template?.name ?? "" })::text[],
                        \(requests.map { $0.template?.language ?? "" })::text[],
                        \(requests.map { $0.campaignId ?? "" })::text[], \(requests.map(\.test))::bool[],
                        \(requests.map { traceParents[$0.requestId] ?? "" })::text[])
                AS r(id, t, pn, p, rb, k, tn, tl, c, te, tp)
            ON CONFLICT (request_id) DO NOTHING
            """, logger: logger)
        let rows = try await client.query(
            """
            UPDATE send_requests s SET state = 'sending', lease_owner = \(owner),
                   lease_until = now() + make_interval(secs => \(lease)), graph_call_at = NULL, call_message = NULL,
                   updated_at = now()
            WHERE s.request_id = ANY(\(requests.map(\.requestId))::text[]) AND s.state = 'queued'
            RETURNING s.request_id, s.http_attempts,
                      (SELECT count(*)::int FROM send_attempts a WHERE a.request_id = s.request_id), s.trace_parent
            """, logger: logger)
        var claimed: [String: (attempts: Int, http: Int, trace: String?)] = [:]
        for try await (id, http, attempts, trace) in rows.decode((String, Int, Int, String?).self) {
            claimed[id] = (attempts, http, trace)
        }
        // In the batch's order (a recipient's requests stay in order).
        return requests.compactMap { r in
            claimed[r.requestId].map {
                Claimed(request: r, attempts: $0.attempts, httpAttempts: $0.http, traceParent: $0.trace)
            }
        }
    }

    /// A successful Cloud API call, to record with `recordSent`.
    public struct SentAttempt: Sendable {
        public var requestId: String
        public var attempt: Int
        public var wamid: String
        /// When the Graph API answered (the attempt's time, not the commit's).
        public var at: Date

        public init(requestId: String, attempt: Int, wamid: String, at: Date) {
            self.requestId = requestId
            self.attempt = attempt
            self.wamid = wamid
            self.at = at
        }
    }

    /// The `sent` attempts of many requests and their new state, in two statements; repeating
    /// it changes nothing.
    public static func recordSent(_ sent: [SentAttempt], on conn: PostgresConnection, logger: Logger) async throws {
        guard !sent.isEmpty else { return }
        try await conn.query(
            """
            INSERT INTO send_attempts (request_id, attempt, at, http_status, retryable, decision)
            SELECT id, n, at, 200, false, 'sent'
            FROM unnest(\(sent.map(\.requestId))::text[], \(sent.map(\.attempt))::int[],
                        \(sent.map(\.at))::timestamptz[]) AS a(id, n, at)
            ON CONFLICT (request_id, attempt) DO NOTHING
            """, logger: logger)
        try await conn.query(
            """
            UPDATE send_requests s SET state = 'sent', wamid = a.w, updated_at = now(), next_attempt_at = NULL,
                   http_attempts = s.http_attempts + 1, lease_owner = NULL, lease_until = NULL
            FROM unnest(\(sent.map(\.requestId))::text[], \(sent.map(\.wamid))::text[]) AS a(id, w)
            WHERE s.request_id = a.id AND s.state <> 'sent'
            """, logger: logger)
    }
}
