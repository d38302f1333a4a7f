import ServiceKit
import Synchronization
import Testing

/// `/readyz` is public: a flood of requests must not become a flood of probes.
struct ReadinessTests {
    final class Counter: Sendable {
        let value = Mutex(0)
    }

    @Test func concurrentRequestsShareOneProbeAndResultsAreKeptForMaxAge() async throws {
        let probes = Counter()
        let readiness = Readiness(
            [
                (
                    "slow",
                    {
                        probes.value.withLock { $0 += 1 }
                        try? await Task.sleep(for: .milliseconds(100))
                        return true
                    }
                )
            ], maxAge: .milliseconds(500))
        let all = await withTaskGroup(of: [String: Bool].self) { group in
            for _ in 0..<200 { group.addTask { await readiness.evaluate() } }
            return await group.reduce(into: [[String: Bool]]()) { $0.append($1) }
        }
        #expect(all.count == 200 && all.allSatisfy { $0 == ["slow": true] })
        #expect(probes.value.withLock { $0 } == 1)
        _ = await readiness.evaluate()
        #expect(probes.value.withLock { $0 } == 1, "within maxAge: the kept results")
        try await Task.sleep(for: .milliseconds(600))
        _ = await readiness.evaluate()
        #expect(probes.value.withLock { $0 } == 2, "after maxAge: probed again")
    }
}
