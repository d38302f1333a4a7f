import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import WireModels

/// Start-up work every service does before it serves: apply migrations (safe with many
/// replicas), create topics idempotently, then open the gate. Retries while PostgreSQL or
/// Kafka are not up yet, so services can start in any order.
public struct StartupTasks: Service, CustomStringConvertible {
    public var description: String { "StartupTasks(\(config.service))" }

    let config: ServiceConfig
    let postgres: PostgresClient
    let gate: StartupGate
    let logger: Logger
    let extra: @Sendable () async throws -> Void

    public init(
        config: ServiceConfig, postgres: PostgresClient, gate: StartupGate, logger: Logger,
        extra: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.config = config
        self.postgres = postgres
        self.gate = gate
        self.logger = logger
        self.extra = extra
    }

    public func run() async throws {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await Self.prepare(config: config, postgres: postgres, logger: logger)
                try await extra()
                gate.open()
                logger.info("start-up complete")
                return
            } catch {
                logger.warning(
                    "start-up not complete, retrying",
                    metadata: ["error": "\(ErrorText.describe(error))", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Migrations and topics (also what `crmctl migrate` and `crmctl topics create` do).
    public static func prepare(config: ServiceConfig, postgres: PostgresClient, logger: Logger) async throws {
        try await withTimeout(.seconds(30), "migrations") {
            try await MigrationRunner().run(on: postgres, logger: logger)
        }
        try await createTopics(config: config, logger: logger)
    }

    public static func createTopics(config: ServiceConfig, logger: Logger) async throws {
        let specs = Topics.all.map {
            TopicSpec(
                name: config.topics.name($0), partitions: config.topicPartitions,
                replicationFactor: config.topicReplication, config: [:])
        }
        try await KafkaAdmin.createTopics(specs, config: config.kafkaBase, timeout: .seconds(15), logger: logger)
    }
}
