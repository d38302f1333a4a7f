import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The outbound governor, shared by every sender replica through PostgreSQL:
/// - per business number, GCRA pacing at its `messages_per_second` (`sender_numbers.tat`): each
///   send reserves the next slot with one atomic UPDATE, so N replicas together never exceed
///   the rate; back-offs (130429, 131057, auth errors) push `tat` forward for all of them;
/// - per (number, recipient), Meta's pair rate: one message per 6 s with bursts up to 45;
/// - per number, the messaging tier: unique recipients of business-initiated sends over a
///   rolling 24 h (serialized per number by a transaction-scoped advisory lock).
public struct Governor: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Send at this instant (now or a little later: the caller sleeps until then).
        case sendAt(Date)
        /// Not now: put the request in the retry queue until then.
        case deferred(until: Date, reason: String)
    }

    public static let pairInterval: TimeInterval = 6
    public static let pairBurst = 45

    let postgres: PostgresClient
    let logger: Logger
    /// Numbers whose `sender_numbers` row this process has already ensured (saves a round trip per send).
    let ensured = KnownNumbers()
    /// Longer waits than this go to the retry queue instead of holding the consumer.
    public let maxInlineWait: TimeInterval
    /// How far the number's schedule may lag behind now: slots left unused for up to this long
    /// (between two batches, say) may still be used, as a burst. The long-run pace stays the
    /// number's rate; the burst (0.2 s worth) is far inside Meta's one-second token bucket.
    public let burstTolerance: TimeInterval

    public init(
        postgres: PostgresClient, logger: Logger, maxInlineWait: TimeInterval = 2, burstTolerance: TimeInterval = 0.2
    ) {
        self.postgres = postgres
        self.logger = logger
        self.maxInlineWait = maxInlineWait
        self.burstTolerance = burstTolerance
    }

    /// Admits sends on one number, each to a different recipient. Pair rate first (it defers
    /// without spending the number's capacity), then the tier budget for business-initiated
    /// sends, then the number's slots: one statement for the pair rates, one transaction for
    /// the slots. Verdicts in the order given.
    public func admit(
        number: NumberSettings, sends: [(waId: String, businessInitiated: Bool)]
    ) async throws -> [Verdict] {
        precondition(Set(sends.map(\.waId)).count == sends.count, "one send per recipient at a time")
        let pairs = try await pairDeferrals(number.phoneNumberId, waIds: sends.map(\.waId))
        var verdicts: [Verdict?] = []
        for send in sends {
            if let until = pairs[send.waId] {
                verdicts.append(
                    .deferred(until: until, reason: "pair rate limit (1 message / 6 s to the same recipient)"))
            } else if send.businessInitiated, let limit = number.tierLimit,
                let until = try await tierDeferral(number.phoneNumberId, waId: send.waId, limit: limit)
            {
                verdicts.append(
                    .deferred(
                        until: until,
                        reason: "messaging tier \(number.messagingTier): \(limit) unique recipients per 24 h used"))
            } else {
                verdicts.append(nil)
            }
        }
        var slots = try await numberSlots(number, count: verdicts.filter { $0 == nil }.count).makeIterator()
        return verdicts.map { verdict in verdict ?? slots.next()! }
    }

    /// Reserves up to `count` consecutive slots of the number (GCRA: the schedule `tat` moves
    /// one interval per send and may lag at most `burstTolerance` behind now), as many as start
    /// within `maxInlineWait`; the rest are deferred to when the number is free again. A slot in
    /// the past means "now". One row lock (`FOR UPDATE`) serializes replicas: they never share a slot.
    public func numberSlots(_ number: NumberSettings, count: Int) async throws -> [Verdict] {
        guard count > 0 else { return [] }
        let interval = 1.0 / Double(max(1, number.messagesPerSecond))
        let id = number.phoneNumberId
        if !ensured.contains(id) {
            try await postgres.query(
                "INSERT INTO sender_numbers (phone_number_id) VALUES (\(id)) ON CONFLICT DO NOTHING", logger: logger)
            ensured.insert(id)
        }
        let (maxInlineWait, burstTolerance, logger) = (self.maxInlineWait, self.burstTolerance, self.logger)
        return try await postgres.transaction(logger: logger) { conn in
            let rows = try await conn.query(
                "SELECT tat, clock_timestamp(), pause_reason FROM sender_numbers WHERE phone_number_id = \(id) FOR UPDATE",
                logger: logger)
            var found: (tat: Date, now: Date, reason: String?)?
            for try await row in rows.decode((Date, Date, String?).self) { found = row }
            guard let found else { return Array(repeating: .sendAt(Date()), count: count) }
            let base = max(found.tat, found.now.addingTimeInterval(-burstTolerance))
            let room = found.now.addingTimeInterval(maxInlineWait).timeIntervalSince(base)
            let granted = room < 0 ? 0 : min(count, Int((room / interval).rounded(.down)) + 1)
            let tat = base.addingTimeInterval(Double(granted) * interval)
            if granted > 0 {
                try await conn.query(
                    "UPDATE sender_numbers SET tat = \(tat), updated_at = now() WHERE phone_number_id = \(id)",
                    logger: logger)
            }
            let deferred = Verdict.deferred(
                until: granted > 0 ? tat : found.tat, reason: "number paced" + (found.reason.map { " (\($0))" } ?? ""))
            return (0..<count).map { i in
                i < granted ? .sendAt(base.addingTimeInterval(Double(i) * interval)) : deferred
            }
        }
    }

    /// Slows every replica's sends on this number for `seconds` (Meta asked us to back off).
    public func pause(_ phoneNumberId: String, for seconds: TimeInterval, reason: String) async throws {
        try await postgres.query(
            """
            INSERT INTO sender_numbers (phone_number_id, tat, paused_until, pause_reason)
            VALUES (\(phoneNumberId), now() + make_interval(secs => \(seconds)), now() + make_interval(secs => \(seconds)),
                    \(reason))
            ON CONFLICT (phone_number_id) DO UPDATE SET
                tat = greatest(sender_numbers.tat, EXCLUDED.tat), paused_until = EXCLUDED.paused_until,
                pause_reason = EXCLUDED.pause_reason, updated_at = now()
            """, logger: logger)
    }

    /// GCRA on each pair: a send is admitted while tat ≤ now + (burst - 1) × 6 s, and adds
    /// 6 s to tat. Returns the recipients that must wait, with when they may send. The check
    /// and the move are one conditional UPDATE per row (rows locked in wa_id order), so
    /// replicas never both take a pair's last place; one statement in all, unless some wait.
    func pairDeferrals(_ phoneNumberId: String, waIds: [String]) async throws -> [String: Date] {
        guard !waIds.isEmpty else { return [:] }
        let tolerance = Double(Self.pairBurst - 1) * Self.pairInterval
        // New pairs are admitted by their insert (tat = now + 6 s); the UPDATE, which sees the
        // table as it was before the statement, admits the existing ones that have room.
        let admitted = try await postgres.query(
            """
            WITH added AS (
                INSERT INTO sender_pairs (phone_number_id, wa_id, tat)
                SELECT \(phoneNumberId), w, now() + make_interval(secs => \(Self.pairInterval))
                FROM unnest(\(waIds)::text[]) AS t(w) ORDER BY w
                ON CONFLICT (phone_number_id, wa_id) DO NOTHING
                RETURNING wa_id),
            moved AS (
                UPDATE sender_pairs p SET tat = greatest(p.tat, now()) + make_interval(secs => \(Self.pairInterval))
                FROM (SELECT wa_id FROM sender_pairs WHERE phone_number_id = \(phoneNumberId)
                        AND wa_id = ANY(\(waIds)::text[]) ORDER BY wa_id FOR UPDATE) locked
                WHERE p.phone_number_id = \(phoneNumberId) AND p.wa_id = locked.wa_id
                  AND p.tat <= now() + make_interval(secs => \(tolerance))
                RETURNING p.wa_id)
            SELECT wa_id FROM added UNION ALL SELECT wa_id FROM moved
            """, logger: logger)
        var waiting = Set(waIds)
        for try await waId in admitted.decode(String.self) { waiting.remove(waId) }
        guard !waiting.isEmpty else { return [:] }
        let rows = try await postgres.query(
            """
            SELECT wa_id, tat FROM sender_pairs
            WHERE phone_number_id = \(phoneNumberId) AND wa_id = ANY(\(Array(waiting))::text[])
            """, logger: logger)
        var deferred: [String: Date] = [:]
        for try await (waId, tat) in rows.decode((String, Date).self) {
            deferred[waId] = tat.addingTimeInterval(-tolerance)
        }
        return deferred
    }

    /// 131056 from Meta: how many times in a row this pair was limited (for 4^n s).
    public func pairLimited(_ phoneNumberId: String, waId: String) async throws -> Int {
        let rows = try await postgres.query(
            """
            INSERT INTO sender_pairs AS p (phone_number_id, wa_id, pair_limit_hits) VALUES (\(phoneNumberId), \(waId), 1)
            ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET pair_limit_hits = p.pair_limit_hits + 1
            RETURNING pair_limit_hits - 1
            """, logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    public func pairDelivered(_ phoneNumberId: String, waId: String) async throws {
        try await postgres.query(
            """
            UPDATE sender_pairs SET pair_limit_hits = 0
            WHERE phone_number_id = \(phoneNumberId) AND wa_id = \(waId) AND pair_limit_hits > 0
            """, logger: logger)
    }

    /// nil = within budget (the recipient is now counted); else when a place frees up.
    func tierDeferral(_ phoneNumberId: String, waId: String, limit: Int) async throws -> Date? {
        try await postgres.transaction(logger: logger) { conn in
            try await conn.query(
                "SELECT pg_advisory_xact_lock(hashtext('crm.tier.' || \(phoneNumberId)))", logger: logger)
            let known = try await conn.query(
                """
                SELECT 1 FROM sender_tier_recipients WHERE phone_number_id = \(phoneNumberId) AND wa_id = \(waId)
                  AND last_at > now() - interval '24 hours'
                """, logger: logger)
            for try await _ in known { return nil }
            let used = try await conn.query(
                """
                SELECT count(*)::int, min(last_at) FROM sender_tier_recipients
                WHERE phone_number_id = \(phoneNumberId) AND last_at > now() - interval '24 hours'
                """, logger: logger)
            for try await (count, oldest) in used.decode((Int, Date?).self) where count >= limit {
                return (oldest ?? Date()).addingTimeInterval(24 * 3600)
            }
            try await conn.query(
                """
                INSERT INTO sender_tier_recipients (phone_number_id, wa_id, last_at) VALUES (\(phoneNumberId), \(waId), now())
                ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_at = now()
                """, logger: logger)
            return nil
        }
    }
}

final class KnownNumbers: Sendable {
    let ids = Mutex(Set<String>())
    func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }
    func insert(_ id: String) { _ = ids.withLock { $0.insert(id) } }
}
