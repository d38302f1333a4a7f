import Foundation
import Synchronization

/// Token buckets per key (a client's address): `burst` requests at once, refilled at `rate` per
/// second. Keys whose bucket is full again are dropped as the table grows, so a scan from many
/// addresses cannot grow it without bound.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: Double
    }

    let rate: Double
    let burst: Double
    let maxKeys: Int
    private let buckets = Mutex([String: Bucket]())

    init(rate: Double, burst: Double, maxKeys: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.maxKeys = maxKeys
    }

    /// Takes one token for `key` at time `now` (seconds); nil when allowed, else the seconds
    /// until a token is back (for `Retry-After`).
    func take(_ key: String, now: Double = Date().timeIntervalSinceReferenceDate) -> Double? {
        buckets.withLock { table in
            var bucket = table[key] ?? Bucket(tokens: burst, at: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            defer {
                table[key] = bucket
                if table.count > maxKeys { Self.prune(&table, now: now, rate: rate, burst: burst) }
            }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Whether `key` has tokens left, without taking one.
    func isLimited(_ key: String, now: Double = Date().timeIntervalSinceReferenceDate) -> Bool {
        buckets.withLock { table in
            guard let bucket = table[key] else { return false }
            return min(burst, bucket.tokens + (now - bucket.at) * rate) < 1
        }
    }

    private static func prune(_ table: inout [String: Bucket], now: Double, rate: Double, burst: Double) {
        table = table.filter { $0.value.tokens + (now - $0.value.at) * rate < burst }
    }

    var keyCount: Int { buckets.withLock { $0.count } }
}
