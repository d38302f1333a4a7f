import Foundation
import PostgresNIO
import WireModels

/// One delivery claimed for sending: where, what, and which attempt this is.
public struct ClaimedDelivery: Sendable, Equatable {
    public var id: Int64
    public var webhookId: UUID
    public var url: String
    /// The signing secret: sealed (`outbound_webhooks.secret_enc`, open it with
    /// `OutboundWebhookStore.secretContext`), or in clear for rows from before encryption.
    public var sealedSecret: Data?
    public var clearSecret: String?
    public var eventId: String
    public var eventKind: String
    public var body: String
    public var attempt: Int
}

/// A delivery with its attempts, as `GET /outbound-webhooks/{id}/deliveries` lists it.
public struct WebhookDeliveryRow: Sendable, Codable, Equatable {
    public struct Attempt: Sendable, Codable, Equatable {
        public var attempt: Int
        public var at: Date
        public var httpStatus: Int?
        public var error: String?
        public var durationMs: Int
        public var decision: String
        enum CodingKeys: String, CodingKey {
            case attempt, at
            case httpStatus = "http_status"
            case error
            case durationMs = "duration_ms"
            case decision
        }
    }

    public var id: Int64
    public var eventId: String
    public var eventKind: String
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Date
    public var attemptLog: [Attempt]

    enum CodingKeys: String, CodingKey {
        case id
        case eventId = "event_id"
        case eventKind = "event_kind"
        case state, attempts
        case nextAttemptAt = "next_attempt_at"
        case deliveredAt = "delivered_at"
        case lastStatus = "last_status"
        case lastError = "last_error"
        case createdAt = "created_at"
        case attemptLog = "attempt_log"
    }
}

/// The outbound-webhook delivery queue. An event is queued once per subscribed endpoint
/// (unique per endpoint and event id, so a redelivered `crm.activity` record queues nothing
/// new); workers claim due deliveries with SKIP LOCKED and a lease, at most one in flight per
/// endpoint, so a slow or dead endpoint holds one worker slot and nobody else's events.
public enum WebhookDeliveryStore {
    public struct Event: Sendable {
        public var eventId: String
        public var kind: String
        public var body: String
        public init(eventId: String, kind: String, body: String) {
            self.eventId = eventId
            self.kind = kind
            self.body = body
        }
    }

    /// Queues each event for every active endpoint subscribed to its kind (`*`, `lead.*` or
    /// `lead.opened`). Returns how many deliveries were new.
    @discardableResult
    public static func enqueue(_ events: [Event], on conn: PostgresConnection, logger: Logger) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let rows = try await conn.query(
            """
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_kind, body)
            SELECT w.id, e.id, e.kind, e.body
            FROM unnest(\(events.map(\.eventId))::text[], \(events.map(\.kind))::text[], \(events.map(\.body))::text[])
                AS e(id, kind, body)
            JOIN outbound_webhooks w ON w.active
                AND ('*' = ANY (w.events) OR e.kind = ANY (w.events) OR split_part(e.kind, '.', 1) || '.*' = ANY (w.events))
            ORDER BY w.id, e.id
            ON CONFLICT (webhook_id, event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        var n = 0
        for try await _ in rows { n += 1 }
        return n
    }

    /// Claims up to `limit` due deliveries, the oldest due one per endpoint, skipping
    /// endpoints that already have one in flight. A lease that ran out (its worker died) makes
    /// the delivery claimable again.
    public static func claimDue(limit: Int, leaseMs: Int, on client: PostgresClient, logger: Logger) async throws
        -> [ClaimedDelivery]
    {
        let rows = try await client.query(
            """
            WITH candidates AS (
                SELECT id, next_attempt_at FROM (
                    SELECT d.id, d.next_attempt_at,
                        row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
                    FROM webhook_deliveries d JOIN outbound_webhooks w ON w.id = d.webhook_id
                    WHERE w.active AND d.next_attempt_at <= now()
                      AND (d.state IN ('pending', 'retrying') OR (d.state = 'delivering' AND d.lease_until < now()))
                      AND NOT EXISTS (
                          SELECT 1 FROM webhook_deliveries b
                          WHERE b.webhook_id = d.webhook_id AND b.state = 'delivering' AND b.lease_until >= now())
                ) c WHERE rn = 1 ORDER BY next_attempt_at LIMIT \(limit)
            ), due AS (
                SELECT d.id FROM webhook_deliveries d WHERE d.id IN (SELECT id FROM candidates)
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE webhook_deliveries d SET state = 'delivering', attempts = d.attempts + 1,
                lease_until = now() + \(leaseMs) * interval '1 millisecond'
            FROM due, outbound_webhooks w
            WHERE d.id = due.id AND w.id = d.webhook_id
            RETURNING d.id, d.webhook_id, w.url, w.secret_enc, w.secret, d.event_id, d.event_kind, d.body, d.attempts
            """, logger: logger)
        var out: [ClaimedDelivery] = []
        for try await (id, webhookId, url, sealed, clear, eventId, kind, body, attempt) in rows.decode(
            (Int64, UUID, String, Data?, String?, String, String, String, Int).self)
        {
            out.append(
                ClaimedDelivery(
                    id: id, webhookId: webhookId, url: url, sealedSecret: sealed, clearSecret: clear, eventId: eventId,
                    eventKind: kind, body: body, attempt: attempt))
        }
        return out
    }

    /// What became of one attempt. `retryAt` nil with a failure means the last attempt failed.
    public enum Outcome: Sendable {
        case delivered(httpStatus: Int)
        case failed(httpStatus: Int?, error: String, retryAt: Date?)
    }

    /// Records the attempt and moves the delivery on, in one transaction. Only the holder of
    /// the current attempt may settle it (a worker whose lease ran out changes nothing).
    public static func settle(
        _ delivery: ClaimedDelivery, outcome: Outcome, durationMs: Int, on client: PostgresClient, logger: Logger
    ) async throws {
        try await client.transaction(logger: logger) { conn in
            let state: String
            let status: Int?
            let error: String?
            let decision: String
            var retryAt: Date?
            switch outcome {
            case .delivered(let http):
                (state, status, error, decision) = ("delivered", http, nil, "delivered")
            case .failed(let http, let message, let at?):
                (state, status, error) = ("retrying", http, message)
                decision = "retry at \(RFC3339.string(from: at))"
                retryAt = at
            case .failed(let http, let message, nil):
                (state, status, error, decision) = (
                    "failed", http, message, "gave up after \(delivery.attempt) attempts"
                )
            }
            let updated = try await conn.query(
                """
                UPDATE webhook_deliveries SET state = \(state), last_status = \(status), last_error = \(error),
                    next_attempt_at = COALESCE(\(retryAt), next_attempt_at), lease_until = NULL,
                    delivered_at = CASE WHEN \(state) = 'delivered' THEN now() ELSE delivered_at END
                WHERE id = \(delivery.id) AND state = 'delivering' AND attempts = \(delivery.attempt)
                RETURNING id
                """, logger: logger)
            var mine = false
            for try await _ in updated { mine = true }
            guard mine else { return }
            try await conn.query(
                """
                INSERT INTO webhook_delivery_attempts (delivery_id, attempt, http_status, error, duration_ms, decision)
                VALUES (\(delivery.id), \(delivery.attempt), \(status), \(error), \(durationMs), \(decision))
                ON CONFLICT (delivery_id, attempt) DO NOTHING
                """, logger: logger)
        }
    }

    /// Newest first, with every attempt; `before` is the id cursor of the previous page.
    public static func list(
        webhookId: UUID, state: String?, before: Int64?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> [WebhookDeliveryRow] {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                """
                SELECT id, event_id, event_kind, state, attempts,
                    CASE WHEN state IN ('pending', 'retrying') THEN next_attempt_at END, delivered_at, last_status,
                    last_error, created_at
                FROM webhook_deliveries
                WHERE webhook_id = \(webhookId) AND (\(state)::text IS NULL OR state = \(state))
                  AND (\(before)::bigint IS NULL OR id < \(before))
                ORDER BY id DESC LIMIT \(limit)
                """, logger: logger)
            var out: [WebhookDeliveryRow] = []
            for try await (id, eventId, kind, state, attempts, next, delivered, status, error, created) in rows.decode(
                (Int64, String, String, String, Int, Date?, Date?, Int?, String?, Date).self)
            {
                out.append(
                    WebhookDeliveryRow(
                        id: id, eventId: eventId, eventKind: kind, state: state, attempts: attempts,
                        nextAttemptAt: next, deliveredAt: delivered, lastStatus: status, lastError: error,
                        createdAt: created, attemptLog: []))
            }
            guard !out.isEmpty else { return out }
            let attempts = try await conn.query(
                """
                SELECT delivery_id, attempt, at, http_status, error, duration_ms, decision
                FROM webhook_delivery_attempts WHERE delivery_id = ANY (\(out.map(\.id))) ORDER BY delivery_id, attempt
                """, logger: logger)
            var index: [Int64: Int] = [:]
            for (i, row) in out.enumerated() { index[row.id] = i }
            for try await (deliveryId, attempt, at, status, error, duration, decision) in attempts.decode(
                (Int64, Int, Date, Int?, String?, Int, String).self)
            {
                guard let i = index[deliveryId] else { continue }
                out[i].attemptLog.append(
                    .init(
                        attempt: attempt, at: at, httpStatus: status, error: error, durationMs: duration,
                        decision: decision))
            }
            return out
        }
    }
}
