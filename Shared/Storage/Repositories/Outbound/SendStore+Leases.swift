import Foundation
import PostgresNIO
import WireModels

/// The statements that keep "exactly one Graph call per accepted send" true when processes
/// die, rebalance or lose their database: the mark made before a call, and the sweeper's
/// passes over rows whose owner went away (docs/ARCHITECTURE.md, "Exactly one Graph call").
extension SendStore {
    /// A claimed request about to be sent, with the message row it becomes once Meta answers.
    public struct Call: Sendable {
        public var requestId: String
        public var message: MessageStore.Outbound

        public init(requestId: String, message: MessageStore.Outbound) {
            self.requestId = requestId
            self.message = message
        }
    }

    /// Marks the Graph calls as made, before making them: only rows still `sending` under
    /// `owner`'s lease, with at least `margin` seconds of it left (the call's wait and timeout),
    /// are marked and returned. A request not returned must not be called: its lease went to
    /// the sweeper, and with it the right to decide what happens to the request.
    public static func markCalling(
        _ calls: [Call], owner: String, margin: Double, on client: PostgresClient, logger: Logger
    ) async throws -> Set<String> {
        guard !calls.isEmpty else { return [] }
        let messages = try calls.map { try JSONCoding.text($0.message) }
        let rows = try await client.query(
            """
            UPDATE send_requests s SET graph_call_at = now(), call_message = c.m::jsonb, updated_at = now()
            FROM unnest(\(calls.map(\.requestId))::text[], \(messages)::text[]) AS c(id, m)
            WHERE s.request_id = c.id AND s.state = 'sending' AND s.lease_owner = \(owner)
              AND s.lease_until > now() + make_interval(secs => \(margin))
            RETURNING s.request_id
            """, logger: logger)
        var marked: Set<String> = []
        for try await id in rows.decode(String.self) { marked.insert(id) }
        return marked
    }

    /// Meta accepted these calls: records the attempts, finds or creates the recipients'
    /// contacts and stores the outbound messages (replaying statuses that came first), in the
    /// caller's transaction. Repeating it changes nothing.
    public static func storeSent(
        _ sent: [SentAttempt], messages: [MessageStore.Outbound], on conn: PostgresConnection, logger: Logger
    ) async throws {
        guard !sent.isEmpty else { return }
        try await recordSent(sent, on: conn, logger: logger)
        try await storeMessages(messages, on: conn, logger: logger)
    }

    /// The outbound message rows of accepted calls, each linked to its recipient's contact
    /// (found or created by wa_id).
    static func storeMessages(_ messages: [MessageStore.Outbound], on conn: PostgresConnection, logger: Logger)
        async throws
    {
        guard !messages.isEmpty else { return }
        let contacts = try await ContactStore.matchMany(
            messages.map { ContactIdentity(waId: $0.toWaId, userId: nil, profileName: nil) }, fromCustomer: false,
            on: conn, logger: logger)
        let rows = zip(messages, contacts).map { message, contact in
            var row = message
            row.contactId = contact.id
            return row
        }
        try await MessageStore.insertOutbound(rows, on: conn, logger: logger)
    }

    /// What one sweep did, by request id.
    public struct Sweep: Sendable, Equatable {
        /// Leases that expired before any Graph call: back to the retry queue, due now.
        public var released: [String] = []
        /// Leases that expired after the Graph call was marked: Meta may have sent them.
        public var unknown: [String] = []
        /// `queued` for longer than the grace: their topic record may never have been produced.
        public var requeued: [String] = []
        /// `unknown` sends that a status webhook settled as sent.
        public var confirmed: [SettledUnknown] = []
        /// `unknown` sends that no status settled within the grace: failed, never retried.
        public var expired: [SettledUnknown] = []

        public init() {}
        public var isEmpty: Bool {
            released.isEmpty && unknown.isEmpty && requeued.isEmpty && confirmed.isEmpty && expired.isEmpty
        }
    }

    /// An `unknown` send that has just been settled.
    public struct SettledUnknown: Sendable, Equatable {
        public var requestId: String
        public var to: String
        public var attempt: Int
        public var wamid: String?
        public var waId: String?
    }

    /// One pass of the sweeper; every statement takes its rows with `SKIP LOCKED` or a
    /// conditional UPDATE, so every replica may sweep at once.
    public static func sweep(
        queuedGrace: Double, unknownGrace: Double, limit: Int = 500, on client: PostgresClient, logger: Logger
    ) async throws -> Sweep {
        var sweep = Sweep()
        let released = try await client.query(
            """
            UPDATE send_requests SET state = 'retrying', next_attempt_at = now(), lease_owner = NULL,
                   lease_until = NULL, updated_at = now()
            WHERE request_id IN (
                SELECT request_id FROM send_requests
                WHERE state = 'sending' AND lease_until < now() AND graph_call_at IS NULL
                LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING request_id
            """, logger: logger)
        for try await id in released.decode(String.self) { sweep.released.append(id) }

        let unknown = try await client.query(
            """
            WITH lost AS (
                UPDATE send_requests SET state = 'unknown', lease_owner = NULL, lease_until = NULL,
                       http_attempts = http_attempts + 1, updated_at = now()
                WHERE request_id IN (
                    SELECT request_id FROM send_requests
                    WHERE state = 'sending' AND lease_until < now() AND graph_call_at IS NOT NULL
                    LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING request_id, graph_call_at)
            INSERT INTO send_attempts (request_id, attempt, at, retryable, decision)
            SELECT l.request_id,
                   (SELECT count(*)::int + 1 FROM send_attempts a WHERE a.request_id = l.request_id),
                   l.graph_call_at, false,
                   'unknown: the sender stopped during the Graph call; waiting for a status from Meta'
            FROM lost l
            ON CONFLICT (request_id, attempt) DO NOTHING
            RETURNING request_id
            """, logger: logger)
        for try await id in unknown.decode(String.self) { sweep.unknown.append(id) }

        let requeued = try await client.query(
            """
            UPDATE send_requests SET state = 'retrying', next_attempt_at = now(), updated_at = now()
            WHERE request_id IN (
                SELECT request_id FROM send_requests
                WHERE state = 'queued' AND updated_at < now() - make_interval(secs => \(queuedGrace))
                LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING request_id
            """, logger: logger)
        for try await id in requeued.decode(String.self) { sweep.requeued.append(id) }

        sweep.confirmed = try await confirmUnknown(limit: limit, on: client, logger: logger)
        sweep.expired = try await expireUnknown(grace: unknownGrace, limit: limit, on: client, logger: logger)
        return sweep
    }

    /// `unknown` sends whose request id came back in a status webhook: Meta accepted them, so
    /// they are `sent` with the status's wamid, and their message row is stored from the call.
    static func confirmUnknown(limit: Int, on client: PostgresClient, logger: Logger) async throws
        -> [SettledUnknown]
    {
        try await client.transaction(logger: logger) { conn in
            let rows = try await conn.query(
                """
                SELECT s.request_id, s.to_wa_id, e.wamid, e.recipient_id, s.call_message::text,
                       (SELECT max(attempt) FROM send_attempts a WHERE a.request_id = s.request_id),
                       (SELECT min(occurred_at) FROM message_status_events f WHERE f.wamid = e.wamid)
                FROM send_requests s
                JOIN LATERAL (
                    SELECT wamid, recipient_id FROM message_status_events e
                    WHERE e.biz_opaque_callback_data = s.request_id ORDER BY id LIMIT 1) e ON true
                WHERE s.state = 'unknown'
                ORDER BY s.updated_at LIMIT \(limit) FOR UPDATE OF s SKIP LOCKED
                """, logger: logger)
            var settled: [SettledUnknown] = []
            var attempts: [SentAttempt] = []
            var messages: [MessageStore.Outbound] = []
            let decoder = JSONCoding.decoder()
            for try await (id, to, wamid, waId, message, attempt, at) in rows.decode(
                (String, String, String, String?, String?, Int?, Date?).self)
            {
                let n = attempt ?? 1
                settled.append(SettledUnknown(requestId: id, to: to, attempt: n, wamid: wamid, waId: waId))
                attempts.append(SentAttempt(requestId: id, attempt: n, wamid: wamid, at: at ?? Date()))
                if let message {
                    var row = try decoder.decode(MessageStore.Outbound.self, from: Data(message.utf8))
                    row.wamid = wamid
                    row.toWaId = waId ?? row.toWaId
                    messages.append(row)
                }
            }
            guard !settled.isEmpty else { return [] }
            try await conn.query(
                """
                UPDATE send_attempts a SET decision = a.decision || '; sent: a status from Meta carried this request id'
                FROM unnest(\(settled.map(\.requestId))::text[], \(settled.map(\.attempt))::int[]) AS u(id, n)
                WHERE a.request_id = u.id AND a.attempt = u.n AND a.decision LIKE 'unknown%'
                """, logger: logger)
            // The unknown attempt is the call; its row exists, so recordSent only moves the state.
            try await conn.query(
                """
                UPDATE send_requests s SET state = 'sent', wamid = u.w, updated_at = now(), next_attempt_at = NULL
                FROM unnest(\(settled.map(\.requestId))::text[], \(settled.compactMap(\.wamid))::text[]) AS u(id, w)
                WHERE s.request_id = u.id AND s.state = 'unknown'
                """, logger: logger)
            try await storeMessages(messages, on: conn, logger: logger)
            return settled
        }
    }

    /// `unknown` sends that no status settled within `grace` seconds: `failed`, and never sent
    /// again automatically (a second call could deliver the message twice; an operator who
    /// knows it was not delivered sends it again with a new request).
    static func expireUnknown(grace: Double, limit: Int, on client: PostgresClient, logger: Logger) async throws
        -> [SettledUnknown]
    {
        let rows = try await client.query(
            """
            WITH gone AS (
                UPDATE send_requests s SET state = 'failed', updated_at = now()
                WHERE s.request_id IN (
                    SELECT request_id FROM send_requests u
                    WHERE u.state = 'unknown' AND u.updated_at < now() - make_interval(secs => \(grace))
                      AND NOT EXISTS (
                        SELECT 1 FROM message_status_events e WHERE e.biz_opaque_callback_data = u.request_id)
                    LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING s.request_id, s.to_wa_id)
            UPDATE send_attempts a
            SET decision = a.decision || '; failed: no status from Meta within \(unescaped: String(Int(grace))) s, '
                    || 'not sent again (it may have been delivered)'
            FROM gone g
            WHERE a.request_id = g.request_id
              AND a.attempt = (SELECT max(attempt) FROM send_attempts m WHERE m.request_id = g.request_id)
            RETURNING g.request_id, g.to_wa_id, a.attempt
            """, logger: logger)
        var out: [SettledUnknown] = []
        for try await (id, to, attempt) in rows.decode((String, String, Int).self) {
            out.append(SettledUnknown(requestId: id, to: to, attempt: attempt, wamid: nil, waId: nil))
        }
        return out
    }
}
