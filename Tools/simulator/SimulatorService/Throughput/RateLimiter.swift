import Synchronization

/// Meta's throughput limit: a token bucket per business phone number, `mps` tokens a second,
/// holding at most one second's worth (a burst of `mps` messages). A send that finds no token
/// is answered 130429.
///
/// Like Meta, inbound messages count too: each message of the inbound load mode takes a token
/// from its number's bucket. Customers cannot be throttled, so an inbound message takes its
/// token even from an empty bucket (the bucket goes into debt, at most one second's worth),
/// and outbound sends during inbound bursts see 130429 sooner.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    struct State {
        var mps: Double
        var buckets: [String: Bucket] = [:]
    }

    let state: Mutex<State>

    /// `mps` ≤ 0 disables the limit.
    public init(mps: Double) {
        state = Mutex(State(mps: mps))
    }

    public var mps: Double {
        state.withLock { $0.mps }
    }

    /// Changes the rate; buckets start full again.
    public func setRate(_ mps: Double) {
        state.withLock { $0 = State(mps: mps) }
    }

    /// Takes a token for an outbound send; false = over the limit (130429).
    public func tryAcquire(_ phoneNumberId: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            guard state.mps > 0 else { return true }
            var bucket = Self.refilled(state.buckets[phoneNumberId], mps: state.mps, now: now)
            let granted = bucket.tokens >= 1
            if granted { bucket.tokens -= 1 }
            state.buckets[phoneNumberId] = bucket
            return granted
        }
    }

    /// Takes a token for an inbound message, into debt if need be.
    public func consumeInbound(_ phoneNumberId: String, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.mps > 0 else { return }
            var bucket = Self.refilled(state.buckets[phoneNumberId], mps: state.mps, now: now)
            bucket.tokens = max(bucket.tokens - 1, -state.mps)
            state.buckets[phoneNumberId] = bucket
        }
    }

    static func refilled(_ bucket: Bucket?, mps: Double, now: ContinuousClock.Instant) -> Bucket {
        guard var bucket else { return Bucket(tokens: mps, updated: now) }
        let elapsed = now - bucket.updated
        guard elapsed > .zero else { return bucket }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(mps, bucket.tokens + seconds * mps)
        bucket.updated = now
        return bucket
    }
}
