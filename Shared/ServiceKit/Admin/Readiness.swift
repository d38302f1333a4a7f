import Kafka
import PostgresNIO

/// What `/readyz` checks: start-up finished, PostgreSQL answers, the Kafka cluster answers.
/// Informational checks are reported but do not make the process unready.
public struct Readiness: Sendable {
    public typealias Check = @Sendable () async -> Bool
    let checks: [(String, Check)]
    let informational: Set<String>

    public init(_ checks: [(String, Check)], informational: Set<String> = []) {
        self.checks = checks
        self.informational = informational
    }

    /// Ready when every non-informational check passes.
    public func isReady(_ results: [String: Bool]) -> Bool {
        results.allSatisfy { $0.value || informational.contains($0.key) }
    }

    public func evaluate() async -> [String: Bool] {
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
                    try await client.query("SELECT 1")
                    return true
                }) ?? false
            }
        )
    }

    public static func kafka(_ config: [String: String]) -> (String, Check) {
        (
            "kafka",
            {
                (try? await KafkaAdmin.listTopics(config: config, timeout: .seconds(2))) != nil
            }
        )
    }
}
