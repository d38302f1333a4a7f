import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// What a worker's handler is built from.
public struct WorkerContext: Sendable {
    public let config: ServiceConfig
    public let logger: Logger
    public let postgres: PostgresClient
    public let producer: KafkaProducer
}

/// Assembles a worker process: PostgreSQL pool, Kafka producer and consumer, start-up tasks,
/// the consume loop and the admin HTTP server, run as one ServiceGroup that shuts down
/// gracefully on SIGTERM/SIGINT (stop polling, finish the batch, commit, close).
public enum WorkerHost {
    public static func run(
        service: String, defaultAdminPort: Int, consumes: [String],
        makeHandler: @Sendable (WorkerContext) throws -> any RecordBatchHandler
    ) async throws {
        let config = try ServiceConfig(service: service, defaultAdminPort: defaultAdminPort)
        let registry = Observability.bootstrap(service: service, level: config.logLevel)
        let logger = {
            var l = Logger(label: service)
            l.logLevel = config.logLevel
            return l
        }()
        logger.info("starting", metadata: ["whatsapp": "\(config.whatsapp)", "kafka": "\(config.kafkaBrokers)"])

        let postgres = PostgresClient(
            configuration: try DatabaseURL.configuration(config.databaseURL), backgroundLogger: logger)
        let producer = try KafkaProducer(config: config.producerProperties(), logger: logger)
        let context = WorkerContext(config: config, logger: logger, postgres: postgres, producer: producer)
        let gate = StartupGate()
        let loop = ConsumerLoop(
            stage: service,
            makeConsumer: {
                try KafkaConsumer(
                    config: config.consumerProperties(stage: service), topics: consumes.map(config.topics.name),
                    logger: logger)
            },
            handler: try makeHandler(context),
            deadLetters: DeadLetterSink(
                stage: service, topics: config.topics, producer: producer, postgres: postgres, logger: logger),
            gate: gate, batchSize: config.consumerBatchSize, crashAfterCommit: config.faultCrashAfterCommit,
            logger: logger)
        let readiness = Readiness([
            Readiness.startup(gate), Readiness.postgres(postgres), Readiness.kafka(config.kafkaBase),
        ])
        let admin = AdminRoutes.server(port: config.adminPort, registry: registry, readiness: readiness, logger: logger)

        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: postgres),
                .init(service: ProducerService(producer: producer)),
                .init(
                    service: StartupTasks(config: config, postgres: postgres, gate: gate, logger: logger),
                    successTerminationBehavior: .ignore),
                .init(service: admin),
                .init(
                    service: loop, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfig.maximumGracefulShutdownDuration = ServiceConfig.shutdownBudget
        try await ServiceGroup(configuration: groupConfig).run()
    }
}

/// Keeps the producer alive for the group's lifetime and flushes it last on shutdown
/// (services stop in reverse order, so the consume loop has finished producing by then).
public struct ProducerService: Service {
    let producer: KafkaProducer
    public init(producer: KafkaProducer) { self.producer = producer }

    public func run() async throws {
        try? await gracefulShutdown()
        await producer.shutdown(timeout: .seconds(10))
    }
}
