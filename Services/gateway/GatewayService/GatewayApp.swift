import Hummingbird
import Kafka
import Logging
import Outbound
import PostgresNIO
import Prometheus
import ServiceKit
import ServiceLifecycle
import Storage

/// Builds the gateway: Meta's webhook, the REST API under /api/v1, health and metrics.
public enum GatewayApp {
    public static func buildRouter(
        config: ServiceConfig, postgres: PostgresClient, producer: KafkaProducer, registry: PrometheusCollectorRegistry,
        readiness: Readiness, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        AdminRoutes.add(to: router, registry: registry, readiness: readiness)
        WebhookController(config: config, producer: producer, logger: logger).add(to: router)
        let api = router.group("api/v1")
        let auth = Authenticator(postgres: postgres, logger: logger)
        ContactsController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        let intake = SendIntake(
            postgres: postgres, producer: producer, topics: config.topics, defaultWabaId: config.whatsapp.wabaId,
            logger: logger)
        MessagesController(auth: auth, postgres: postgres, intake: intake, logger: logger).add(to: api)
        TemplatesController(
            auth: auth, postgres: postgres, intake: intake, sync: TemplatesController.sync(config), logger: logger
        ).add(to: api)
        FailuresController(auth: auth, postgres: postgres, producer: producer, topics: config.topics, logger: logger)
            .add(to: api)
        return router
    }

    /// Runs the gateway until SIGTERM/SIGINT.
    public static func run() async throws {
        let config = try ServiceConfig(service: "gateway", defaultAdminPort: 8080)
        let registry = Observability.bootstrap(service: "gateway", level: config.logLevel)
        let logger = {
            var l = Logger(label: "gateway")
            l.logLevel = config.logLevel
            return l
        }()
        logger.info("starting", metadata: ["whatsapp": "\(config.whatsapp)", "kafka": "\(config.kafkaBrokers)"])
        if config.whatsapp.appSecrets.isEmpty {
            logger.warning("WHATSAPP_APP_SECRET is not set: every webhook will be rejected with 401")
        }

        let postgres = PostgresClient(
            configuration: try DatabaseURL.configuration(config.databaseURL), backgroundLogger: logger)
        // The ack timeout bounds how long Meta waits before we answer 503 and it retries.
        let producer = try KafkaProducer(
            config: config.producerProperties(messageTimeoutMs: config.webhookAckTimeoutMs), logger: logger)
        let gate = StartupGate()
        // The webhook path needs Kafka only: a database outage must not take Meta's callback out
        // of the load balancer (the API answers errors meanwhile), so PostgreSQL is informational.
        let readiness = Readiness(
            [Readiness.startup(gate), Readiness.postgres(postgres), Readiness.kafka(config.kafkaBase)],
            informational: ["postgres"])
        let router = buildRouter(
            config: config, postgres: postgres, producer: producer, registry: registry, readiness: readiness,
            logger: logger)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("0.0.0.0", port: config.httpPort), serverName: "gateway"),
            logger: logger)
        let startup = StartupTasks(config: config, postgres: postgres, gate: gate, logger: logger) {
            if let token = config.bootstrapToken {
                try await TokenStore.ensureBootstrapAdmin(token: token, on: postgres, logger: logger)
            }
        }
        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: postgres),
                .init(service: ProducerService(producer: producer)),
                .init(service: startup, successTerminationBehavior: .ignore),
                .init(
                    service: app, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfig.maximumGracefulShutdownDuration = ServiceConfig.shutdownBudget
        try await ServiceGroup(configuration: groupConfig).run()
    }
}
