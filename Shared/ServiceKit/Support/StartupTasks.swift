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
    let admin: KafkaAdminClient
    let gate: StartupGate
    let logger: Logger
    let extra: @Sendable () async throws -> Void

    public init(
        config: ServiceConfig, postgres: PostgresClient, admin: KafkaAdminClient, gate: StartupGate, logger: Logger,
        extra: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.config = config
        self.postgres = postgres
        self.admin = admin
        self.gate = gate
        self.logger = logger
        self.extra = extra
    }

    public func run() async throws {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await withTimeout(.seconds(30), "migrations") {
                    try await MigrationRunner().run(on: postgres, logger: logger)
                }
                try await admin.createTopics(Self.topics(config), timeout: .seconds(15))
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

    /// Every topic of the system, as configured (names, partitions, replication).
    public static func topics(_ config: ServiceConfig) -> [TopicSpec] {
        Topics.all.map {
            TopicSpec(
                name: config.topics.name($0), partitions: config.topicPartitions,
                replicationFactor: config.topicReplication, config: [:])
        }
    }

    /// The topics on a one-shot admin client (`crmctl topics create`, tests).
    public static func createTopics(config: ServiceConfig, logger: Logger) async throws {
        try await KafkaAdmin.createTopics(
            topics(config), config: config.kafkaClient, timeout: .seconds(15), logger: logger)
    }
}
