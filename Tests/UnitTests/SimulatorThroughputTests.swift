import Foundation
import SimulatorService
import Testing
import WireModels

/// The per-number mps limit (token bucket) and 130429 under a burst.
@Suite struct SimulatorThroughputTests {
    @Test func bucketAllowsOneSecondOfBurstThenTheRate() {
        let limiter = RateLimiter(mps: 10)
        let start = ContinuousClock.now
        let burst = (0..<15).filter { _ in limiter.tryAcquire("1", now: start) }.count
        #expect(burst == 10)
        // 100 ms later: one more token.
        #expect(limiter.tryAcquire("1", now: start + .milliseconds(100)))
        #expect(!limiter.tryAcquire("1", now: start + .milliseconds(100)))
        // Another number has its own bucket.
        #expect(limiter.tryAcquire("2", now: start))
        // Over a long pause the bucket refills only up to one second's worth.
        let later = start + .seconds(60)
        #expect((0..<25).filter { _ in limiter.tryAcquire("1", now: later) }.count == 10)
    }

    @Test func inboundMessagesTakeTokensToo() {
        let limiter = RateLimiter(mps: 5)
        let start = ContinuousClock.now
        for _ in 0..<8 { limiter.consumeInbound("1", now: start) }
        // 5 tokens - 8 inbound = 3 in debt: 0.8 s until the next outbound send.
        #expect(!limiter.tryAcquire("1", now: start + .milliseconds(700)))
        #expect(limiter.tryAcquire("1", now: start + .milliseconds(900)))
    }

    @Test func zeroMeansUnlimited() {
        let limiter = RateLimiter(mps: 0)
        #expect((0..<10_000).allSatisfy { _ in limiter.tryAcquire("1") })
    }

    @Test func burstOverTheLimitIsAnswered130429() async throws {
        // A low limit so the burst exceeds it even when a busy machine makes the 20 sends slow
        // (at 5/s, 20 sends taking 3 s were all within the refilled budget).
        let mps = 2.0
        let sim = SimHarness(mps: mps)
        try await sim.run { client in
            let clock = ContinuousClock()
            let start = clock.now
            var accepted = 0
            var throttled = 0
            for _ in 0..<20 {
                let answer = try await client.sendMessage(SimulatorSendTests.text(to: "5511987654321"))
                if answer.status == 200 { accepted += 1 }
                if answer.code == 130429 {
                    throttled += 1
                    #expect(answer.status == 400)
                    #expect(answer.json?["error"]?["message"]?.stringValue == "(#130429) Rate limit hit")
                }
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let refill = Int(seconds * mps)
            #expect(accepted >= Int(mps) && accepted <= Int(mps) + refill + 1, "accepted \(accepted) in \(elapsed)")
            #expect(accepted + throttled == 20)
            #expect(throttled > 0, "no send was throttled in \(elapsed)")
            // Another business number is not affected.
            let other = try await client.sendMessage(
                SimulatorSendTests.text(to: "5511987654321"), phoneNumberId: "100000000000003")
            #expect(other.status == 200)
            // The limit can be changed at run time.
            #expect(try await client.call(.post, "/_sim/limits", body: #"{"mps":0}"#).status == 200)
            #expect(try await client.sendMessage(SimulatorSendTests.text(to: "5511987654321")).status == 200)
            let limits = try await client.call(.get, "/_sim/limits")
            #expect(limits.json?["mps"]?.doubleValue == 0)
            let stats = try await client.call(.get, "/_sim/stats")
            #expect(stats.json?["throttled"]?.doubleValue == Double(throttled))
            #expect(stats.json?["rejected"]?["130429"]?.doubleValue == Double(throttled))
        }
    }
}
