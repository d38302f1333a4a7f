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
    /// The service's admin client (topics, readiness, lag), one thread for its whole life.
    public let admin: KafkaAdminClient
}

/// One consume loop of a worker: its stage name (consumer group and metrics label), the topics
/// it reads and the handler for their records.
public struct ConsumerSpec: Sendable {
    /// From `Stages`, where every stage is declared once.
    public let stage: Stage
    public let makeHandler: @Sendable (WorkerContext) throws -> any RecordBatchHandler

    public init(_ stage: Stage, makeHandler: @escaping @Sendable (WorkerContext) throws -> any RecordBatchHandler) {
        self.stage = stage
        self.makeHandler = makeHandler
    }
}

/// Assembles a worker process: PostgreSQL pool, Kafka producer, start-up tasks, one consume
/// loop per `ConsumerSpec` (each its own consumer group), optional background services
/// (schedulers) and the admin HTTP server, run as one ServiceGroup that shuts down gracefully
/// on SIGTERM/SIGINT (stop polling, finish the batch, commit, close).
public enum WorkerHost {
    /// `background` services start after the database and topics are ready (they see an
    /// open `StartupGate`) and stop with the group.
    public static func run(
        service: String, defaultAdminPort: Int, consumers: [ConsumerSpec],
        background: @Sendable (WorkerContext, StartupGate) throws -> [any Service] = { _, _ in [] }
    ) async throws {
        let config = try ServiceConfig(service: service, defaultAdminPort: defaultAdminPort)
        let (registry, tracing) = try Observability.bootstrap(service: service, level: config.logLevel)
        let logger = {
            var l = Logger(label: service)
            l.logLevel = config.logLevel
            return l
        }()
        logger.info("starting", metadata: ["whatsapp": "\(config.whatsapp)", "kafka": "\(config.kafkaBrokers)"])

        let postgres = PostgresClient(
            configuration: try DatabaseURL.configuration(config.databaseURL), backgroundLogger: logger)
        let producer = try KafkaProducer(config.producerConfig(), logger: logger)
        let kafkaAdmin = try KafkaAdminClient(config.kafkaClient, logger: logger)
        defer { kafkaAdmin.shutdown() }
        let context = WorkerContext(
            config: config, logger: logger, postgres: postgres, producer: producer, admin: kafkaAdmin)
        let gate = StartupGate()
        let loops = try consumers.map { spec in
            ConsumerLoop(
                stage: spec.stage.name,
                makeConsumer: {
                    try KafkaConsumer(
                        config.consumerConfig(stage: spec.stage.name),
                        topics: spec.stage.topics.map(config.topics.name), logger: logger)
                },
                handler: try spec.makeHandler(context),
                deadLetters: DeadLetterSink(
                    stage: spec.stage.name, topics: config.topics, producer: producer, postgres: postgres,
                    logger: logger),
                gate: gate, batchSize: config.consumerBatchSize,
                batchLinger: .milliseconds(config.consumerBatchLingerMs),
                concurrency: spec.stage.concurrency ?? config.consumerConcurrency,
                crashAfterCommit: config.faultCrashAfterCommit,
                outageBudget: config.outageBudget(stage: spec.stage.name),
                hangLimit: config.maxPollInterval(stage: spec.stage.name),
                logger: logger)
        }
        let readiness = Readiness([
            Readiness.startup(gate), Readiness.postgres(postgres), Readiness.kafka(kafkaAdmin),
        ])
        let admin = AdminRoutes.server(port: config.adminPort, registry: registry, readiness: readiness, logger: logger)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            // First, so it stops last and exports the spans of everything that drained before it.
            .init(service: tracing),
            .init(service: postgres),
            .init(service: ProducerService(producer: producer)),
            .init(
                service: StartupTasks(
                    config: config, postgres: postgres, admin: kafkaAdmin, gate: gate, logger: logger),
                successTerminationBehavior: .ignore),
            .init(service: admin),
        ]
        services += try background(context, gate).map {
            .init(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        services += loops.map {
            .init(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        var groupConfig = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
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
