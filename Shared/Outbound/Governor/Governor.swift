import CRMCore
import Foundation
import Logging
import PostgresNIO
import Storage
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
            try await GovernorStore.ensureNumber(id, on: postgres, logger: logger)
            ensured.insert(id)
        }
        let (maxInlineWait, burstTolerance) = (self.maxInlineWait, self.burstTolerance)
        return try await GovernorStore.moveSchedule(id, on: postgres, logger: logger) { schedule in
            guard let schedule else { return (nil, Array(repeating: .sendAt(Date()), count: count)) }
            let base = max(schedule.tat, schedule.now.addingTimeInterval(-burstTolerance))
            let room = schedule.now.addingTimeInterval(maxInlineWait).timeIntervalSince(base)
            let granted = room < 0 ? 0 : min(count, Int((room / interval).rounded(.down)) + 1)
            let tat = base.addingTimeInterval(Double(granted) * interval)
            let deferred = Verdict.deferred(
                until: granted > 0 ? tat : schedule.tat,
                reason: "number paced" + (schedule.pauseReason.map { " (\($0))" } ?? ""))
            let verdicts = (0..<count).map { i in
                i < granted ? Verdict.sendAt(base.addingTimeInterval(Double(i) * interval)) : deferred
            }
            return (granted > 0 ? tat : nil, verdicts)
        }
    }

    /// Slows every replica's sends on this number for `seconds` (Meta asked us to back off).
    public func pause(_ phoneNumberId: String, for seconds: TimeInterval, reason: String) async throws {
        try await GovernorStore.pause(phoneNumberId, seconds: seconds, reason: reason, on: postgres, logger: logger)
    }

    /// GCRA on each pair: a send is admitted while tat ≤ now + (burst - 1) × 6 s, and adds
    /// 6 s to tat. Returns the recipients that must wait, with when they may send.
    func pairDeferrals(_ phoneNumberId: String, waIds: [String]) async throws -> [String: Date] {
        guard !waIds.isEmpty else { return [:] }
        let tolerance = Double(Self.pairBurst - 1) * Self.pairInterval
        let waiting = try await GovernorStore.admitPairs(
            phoneNumberId, waIds: waIds, interval: Self.pairInterval, tolerance: tolerance, on: postgres, logger: logger
        )
        return waiting.mapValues { $0.addingTimeInterval(-tolerance) }
    }

    /// 131056 from Meta: how many times in a row this pair was limited (for 4^n s).
    public func pairLimited(_ phoneNumberId: String, waId: String) async throws -> Int {
        try await GovernorStore.pairLimited(phoneNumberId, waId: waId, on: postgres, logger: logger)
    }

    public func pairDelivered(_ phoneNumberId: String, waId: String) async throws {
        try await GovernorStore.pairDelivered(phoneNumberId, waId: waId, on: postgres, logger: logger)
    }

    /// nil = within budget (the recipient is now counted); else when a place frees up.
    func tierDeferral(_ phoneNumberId: String, waId: String, limit: Int) async throws -> Date? {
        try await GovernorStore.countTierRecipient(
            phoneNumberId, waId: waId, limit: limit, on: postgres, logger: logger)
    }
}

final class KnownNumbers: Sendable {
    let ids = Mutex(Set<String>())
    func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }
    func insert(_ id: String) { _ = ids.withLock { $0.insert(id) } }
}
