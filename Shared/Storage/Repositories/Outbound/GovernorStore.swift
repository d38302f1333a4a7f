import Foundation
import Logging
import PostgresNIO

/// The governor's shared state (`sender_numbers`, `sender_pairs`, `sender_tier_recipients`):
/// every statement is atomic on its own or serialized by a row or advisory lock, so sender
/// replicas never share a slot. The pacing decisions are the `Governor`'s.
public enum GovernorStore {
    /// A number's schedule as read under its row lock.
    public struct Schedule: Sendable {
        public var tat: Date
        public var now: Date
        public var pauseReason: String?
    }

    public static func ensureNumber(_ id: String, on client: PostgresClient, logger: Logger) async throws {
        try await client.query(
            "INSERT INTO sender_numbers (phone_number_id) VALUES (\(id)) ON CONFLICT DO NOTHING", logger: logger)
    }

    /// Locks the number's row (`FOR UPDATE`), lets `decide` compute from its schedule (nil: no
    /// row) the new `tat` (nil: unchanged) and a result, stores the `tat`, commits.
    public static func moveSchedule<Result: Sendable>(
        _ id: String, on client: PostgresClient, logger: Logger,
        decide: @escaping @Sendable (Schedule?) -> (tat: Date?, result: Result)
    ) async throws -> Result {
        try await client.transaction(logger: logger) { conn in
            let rows = try await conn.query(
                "SELECT tat, clock_timestamp(), pause_reason FROM sender_numbers WHERE phone_number_id = \(id) FOR UPDATE",
                logger: logger)
            var found: Schedule?
            for try await (tat, now, reason) in rows.decode((Date, Date, String?).self) {
                found = Schedule(tat: tat, now: now, pauseReason: reason)
            }
            let (tat, result) = decide(found)
            if let tat {
                try await conn.query(
                    "UPDATE sender_numbers SET tat = \(tat), updated_at = now() WHERE phone_number_id = \(id)",
                    logger: logger)
            }
            return result
        }
    }

    public static func pause(
        _ phoneNumberId: String, seconds: TimeInterval, reason: String, on client: PostgresClient, logger: Logger
    ) async throws {
        try await client.query(
            """
            INSERT INTO sender_numbers (phone_number_id, tat, paused_until, pause_reason)
            VALUES (\(phoneNumberId), now() + make_interval(secs => \(seconds)), now() + make_interval(secs => \(seconds)),
                    \(reason))
            ON CONFLICT (phone_number_id) DO UPDATE SET
                tat = greatest(sender_numbers.tat, EXCLUDED.tat), paused_until = EXCLUDED.paused_until,
                pause_reason = EXCLUDED.pause_reason, updated_at = now()
            """, logger: logger)
    }

    /// Pair GCRA: admits each pair whose `tat` ≤ now + `tolerance` and moves it `interval`
    /// on. The check and the move are one conditional UPDATE per row (rows locked in wa_id
    /// order), so replicas never both take a pair's last place; one statement in all, unless
    /// some wait. Returns the `tat` of the pairs not admitted.
    public static func admitPairs(
        _ phoneNumberId: String, waIds: [String], interval: TimeInterval, tolerance: TimeInterval,
        on client: PostgresClient, logger: Logger
    ) async throws -> [String: Date] {
        // New pairs are admitted by their insert (tat = now + interval); the UPDATE, which sees
        // the table as it was before the statement, admits the existing ones that have room.
        let admitted = try await client.query(
            """
            WITH added AS (
                INSERT INTO sender_pairs (phone_number_id, wa_id, tat)
                SELECT \(phoneNumberId), w, now() + make_interval(secs => \(interval))
                FROM unnest(\(waIds)::text[]) AS t(w) ORDER BY w
                ON CONFLICT (phone_number_id, wa_id) DO NOTHING
                RETURNING wa_id),
            moved AS (
                UPDATE sender_pairs p SET tat = greatest(p.tat, now()) + make_interval(secs => \(interval))
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
        let rows = try await client.query(
            """
            SELECT wa_id, tat FROM sender_pairs
            WHERE phone_number_id = \(phoneNumberId) AND wa_id = ANY(\(Array(waiting))::text[])
            """, logger: logger)
        var out: [String: Date] = [:]
        for try await (waId, tat) in rows.decode((String, Date).self) { out[waId] = tat }
        return out
    }

    /// Counts one more pair-rate hit; returns the hits before this one.
    public static func pairLimited(
        _ phoneNumberId: String, waId: String, on client: PostgresClient, logger: Logger
    ) async throws -> Int {
        let rows = try await client.query(
            """
            INSERT INTO sender_pairs AS p (phone_number_id, wa_id, pair_limit_hits) VALUES (\(phoneNumberId), \(waId), 1)
            ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET pair_limit_hits = p.pair_limit_hits + 1
            RETURNING pair_limit_hits - 1
            """, logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    public static func pairDelivered(
        _ phoneNumberId: String, waId: String, on client: PostgresClient, logger: Logger
    ) async throws {
        try await client.query(
            """
            UPDATE sender_pairs SET pair_limit_hits = 0
            WHERE phone_number_id = \(phoneNumberId) AND wa_id = \(waId) AND pair_limit_hits > 0
            """, logger: logger)
    }

    /// The messaging tier's rolling 24 h of unique recipients, serialized per number by an
    /// advisory lock: nil = within `limit` (the recipient is now counted); else when a place frees up.
    public static func countTierRecipient(
        _ phoneNumberId: String, waId: String, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> Date? {
        try await client.transaction(logger: logger) { conn in
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
