import Foundation
import Testing

@testable import GatewayService

/// The gateway's per-source token buckets.
struct RateLimiterTests {
    @Test func aBurstIsAllowedThenTheRateAndEachSourceHasItsOwnBucket() {
        let limiter = RateLimiter(rate: 2, burst: 5)
        let t0 = 1_000.0
        for _ in 0..<5 { #expect(limiter.take("a", now: t0) == nil) }
        let wait = limiter.take("a", now: t0)
        #expect(wait != nil && abs((wait ?? 0) - 0.5) < 1e-9, "one token back in 0.5 s at 2/s")
        #expect(limiter.take("b", now: t0) == nil, "another source is not limited")
        #expect(limiter.take("a", now: t0 + 0.5) == nil)
        #expect(limiter.take("a", now: t0 + 0.5) != nil)
        #expect(limiter.isLimited("a", now: t0 + 0.5))
        #expect(!limiter.isLimited("a", now: t0 + 10))
    }

    @Test func theTableDropsSourcesWhoseBucketIsFullAgain() {
        let limiter = RateLimiter(rate: 1, burst: 2, maxKeys: 100)
        for i in 0..<100 { _ = limiter.take("scan-\(i)", now: 0) }
        #expect(limiter.keyCount == 100)
        // Much later, one more source: the old ones (full again) are dropped.
        _ = limiter.take("late", now: 1_000)
        #expect(limiter.keyCount <= 2)
    }
}
