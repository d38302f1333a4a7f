import Kafka
import PostgresNIO
import Storage
import Synchronization

/// What `/readyz` checks: start-up finished, PostgreSQL answers, the Kafka cluster answers.
/// Informational checks are reported but do not make the process unready.
///
/// `/readyz` is public and each probe is a round trip to PostgreSQL and Kafka: the results are
/// kept for `maxAge`, and requests arriving while a probe runs wait for that probe, so a flood
/// of `/readyz` costs one probe per `maxAge`, not one per request.
public struct Readiness: Sendable {
    public typealias Check = @Sendable () async -> Bool
    let checks: [(String, Check)]
    let informational: Set<String>
    let maxAge: Duration
    let cache = ProbeCache()

    public init(_ checks: [(String, Check)], informational: Set<String> = [], maxAge: Duration = .seconds(1)) {
        self.checks = checks
        self.informational = informational
        self.maxAge = maxAge
    }

    /// Ready when every non-informational check passes.
    public func isReady(_ results: [String: Bool]) -> Bool {
        results.allSatisfy { $0.value || informational.contains($0.key) }
    }

    /// The latest results, probing again only when they are older than `maxAge`.
    public func evaluate() async -> [String: Bool] {
        await cache.results(maxAge: maxAge) { await probe() }
    }

    func probe() async -> [String: Bool] {
        await withTaskGroup(of: (String, Bool).self) { group in
            for (name, check) in checks { group.addTask { (name, await check()) } }
            var out: [String: Bool] = [:]
            for await (name, ok) in group { out[name] = ok }
            return out
        }
    }

    public static func startup(_ gate: StartupGate) -> (String, Check) {
        ("startup", { gate.isOpen })
    }

    public static func postgres(_ client: PostgresClient) -> (String, Check) {
        (
            "postgres",
            {
                (try? await withTimeout(.seconds(2), "postgres probe") {
                    try await client.ping()
                    return true
                }) ?? false
            }
        )
    }

    /// A metadata request on the service's own admin client.
    public static func kafka(_ admin: KafkaAdminClient) -> (String, Check) {
        (
            "kafka",
            {
                (try? await admin.listTopics(timeout: .seconds(2))) != nil
            }
        )
    }
}

/// The last probe's results and the probe in progress (single flight).
final class ProbeCache: Sendable {
    struct State {
        var last: (at: ContinuousClock.Instant, results: [String: Bool])?
        var running: Task<[String: Bool], Never>?
    }

    let state = Mutex(State())

    /// Kept results are answered as they are; otherwise the probe in flight is awaited.
    enum Lookup {
        case kept([String: Bool])
        case running(Task<[String: Bool], Never>)
    }

    func results(maxAge: Duration, probe: @escaping @Sendable () async -> [String: Bool]) async -> [String: Bool] {
        let answer: Lookup = state.withLock { s in
            if let last = s.last, ContinuousClock.now - last.at < maxAge { return .kept(last.results) }
            if let running = s.running { return .running(running) }
            let started = Task { await probe() }
            s.running = started
            return .running(started)
        }
        let task: Task<[String: Bool], Never>
        switch answer {
        case .kept(let results): return results
        case .running(let running): task = running
        }
        let results = await task.value
        state.withLock { s in
            if s.running == task {
                s.running = nil
                s.last = (ContinuousClock.now, results)
            }
        }
        return results
    }
}
