import ArgumentParser
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Operator CLI. Reads the same environment as the services (DATABASE_URL, KAFKA_BROKERS, …).
public struct CrmCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract:
            "Operate the WhatsApp CRM: status, migrations, topics, failures, replays, users, tokens, config, templates, secrets.",
        subcommands: [
            Migrate.self, TopicsCommand.self, FailuresCommand.self, ReplayWebhooks.self, UsersCommand.self,
            TokensCommand.self, ConfigCommand.self, TemplatesCommand.self, CampaignsCommand.self, SecretsCommand.self,
            StatusCommand.self,
        ])

    public init() {}
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations (safe while services run or start).")

    func run() async throws {
        let (config, logger) = try setUp()
        let applied = try await withPostgres(config, logger: logger) { client in
            try await MigrationRunner().run(on: client, logger: logger)
        }
        print(applied.isEmpty ? "schema is up to date" : "applied: \(applied.joined(separator: ", "))")
    }
}

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Kafka topics.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create every topic the services use (existing ones are left as they are).")
        @Option(help: "Partitions per topic (default: KAFKA_TOPIC_PARTITIONS or 6).") var partitions: Int32?

        func run() async throws {
            var (config, logger) = try setUp()
            if let partitions { config.topicPartitions = partitions }
            try await StartupTasks.createTopics(config: config, logger: logger)
            for t in Topics.all { print("\(config.topics.name(t)) (\(config.topicPartitions) partitions)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topics on the cluster.")
        func run() async throws {
            let (config, _) = try setUp()
            for t in try await KafkaAdmin.listTopics(config: config.kafkaClient, timeout: .seconds(10)).sorted() {
                print(t)
            }
        }
    }
}

func setUp() throws -> (ServiceConfig, Logger) {
    let config = try ServiceConfig(service: "crmctl", defaultAdminPort: 0)
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, service: "crmctl", level: config.logLevel) }
    var logger = Logger(label: "crmctl")
    logger.logLevel = config.logLevel
    return (config, logger)
}

/// Runs `body` with a PostgreSQL client whose pool is running (it only serves while `run()` is).
func withPostgres<T: Sendable>(
    _ config: ServiceConfig, logger: Logger, timeout: Duration = .seconds(60),
    _ body: @escaping @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    let client = PostgresClient(
        configuration: try DatabaseURL.configuration(config.databaseURL), backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        group.addTask { try await withTimeout(timeout, "database command") { try await body(client) } }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let value = result { return value }
        }
        throw CancellationError()
    }
}
