import CRMSetup
import Foundation
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
        readiness: Readiness, secrets: SecretBox?, limits: RateLimits, logger: Logger
    ) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: MethodNotAllowedMiddleware(operations: OpenAPIDocument.operations))
        AdminRoutes.add(to: router, registry: registry, readiness: readiness)
        WebhookController(config: config, producer: producer, limits: limits, logger: logger).add(to: router)
        // A span per API request, continuing the caller's `traceparent`; a send it queues carries it.
        let api = router.group("api/v1").add(middleware: TraceMiddleware())
            .add(middleware: RateLimitMiddleware(limits: limits)).add(middleware: NULQueryMiddleware())
        let auth = Authenticator(postgres: postgres, logger: logger)
        let activity = OutboxPublisher(
            postgres: postgres, producer: producer, topics: config.topics, source: "gateway", logger: logger)
        ContactsController(auth: auth, postgres: postgres, publisher: activity, logger: logger).add(to: api)
        LeadsController(auth: auth, postgres: postgres, publisher: activity, logger: logger).add(to: api)
        OpenAPIController().add(to: api)
        UsersController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        TokensController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        AccountsController(auth: auth, postgres: postgres, secrets: secrets, logger: logger).add(to: api)
        PhoneNumbersController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        AuditLogController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        let intake = SendIntake(
            postgres: postgres, producer: producer, topics: config.topics, defaultWabaId: config.whatsapp.wabaId,
            defaultPhoneNumberId: config.whatsapp.phoneNumberId, crashAfterCommit: config.faultCrashAfterCommit,
            logger: logger)
        MessagesController(auth: auth, postgres: postgres, intake: intake, logger: logger).add(to: api)
        MessageLogController(
            auth: auth, postgres: postgres, maxExportRows: config.messageExportMaxRows, logger: logger
        ).add(to: api)
        ReportsController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        TemplatesController(
            auth: auth, postgres: postgres, intake: intake, sync: TemplatesController.sync(config), logger: logger
        ).add(to: api)
        FailuresController(auth: auth, postgres: postgres, producer: producer, topics: config.topics, logger: logger)
            .add(to: api)
        OutboundWebhooksController(
            auth: auth, postgres: postgres, destinations: config.outboundDestinations, secrets: secrets,
            logger: logger
        ).add(to: api)
        CampaignsController(auth: auth, postgres: postgres, intake: intake, logger: logger).add(to: api)
        TasksController(auth: auth, postgres: postgres, publisher: activity, logger: logger).add(to: api)
        WorkflowRulesController(auth: auth, postgres: postgres, defaultWabaId: config.whatsapp.wabaId, logger: logger)
            .add(to: api)
        RoutingRulesController(auth: auth, postgres: postgres, logger: logger).add(to: api)
        return router
    }

    /// Runs the gateway until SIGTERM/SIGINT.
    public static func run() async throws {
        let config = try ServiceConfig(service: "gateway", defaultAdminPort: 8080)
        let (registry, tracing) = try Observability.bootstrap(service: "gateway", level: config.logLevel)
        WebhookMetrics.register()
        let logger = {
            var l = Logger(label: "gateway")
            l.logLevel = config.logLevel
            return l
        }()
        logger.info("starting", metadata: ["whatsapp": "\(config.whatsapp)", "kafka": "\(config.kafkaBrokers)"])
        // A bad config file (or a secret without CRM_SECRET_KEY) stops the gateway here, with
        // every problem listed; writing it to the database waits for PostgreSQL below.
        try SecretStrength.check(config, environment: ServiceKit.Environment())
        let (crmConfig, secrets) = try StartupConfig.read(config, environment: ProcessInfo.processInfo.environment)
        let rolloutSettings = try CampaignRolloutSettings()
        if config.secretKey == nil {
            logger.notice(
                "CRM_SECRET_KEY is not set: account secrets and webhook endpoints cannot be stored through the API or config file"
            )
        }
        if config.whatsapp.appSecrets.isEmpty {
            logger.warning("WHATSAPP_APP_SECRET is not set: every webhook will be rejected with 401")
        }

        let postgres = PostgresClient(
            configuration: try DatabaseURL.configuration(
                config.databaseURL, statementTimeoutMs: config.apiStatementTimeoutMs),
            backgroundLogger: logger)
        // The ack timeout bounds how long Meta waits before we answer 503 and it retries.
        let producer = try KafkaProducer(
            config.producerConfig(messageTimeout: .milliseconds(config.webhookAckTimeoutMs)), logger: logger)
        let kafkaAdmin = try KafkaAdminClient(config.kafkaClient, logger: logger)
        defer { kafkaAdmin.shutdown() }
        let gate = StartupGate()
        // The webhook path needs Kafka only: a database outage must not take Meta's callback out
        // of the load balancer (the API answers errors meanwhile), so PostgreSQL is informational.
        let readiness = Readiness(
            [Readiness.startup(gate), Readiness.postgres(postgres), Readiness.kafka(kafkaAdmin)],
            informational: ["postgres"])
        let router = buildRouter(
            config: config, postgres: postgres, producer: producer, registry: registry, readiness: readiness,
            secrets: secrets, limits: try RateLimits(environment: ServiceKit.Environment()), logger: logger)
        // Idle connections are closed, so a client cannot hold sockets open for nothing.
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.httpIdleTimeoutMs)))),
            configuration: .init(address: .hostname("0.0.0.0", port: config.httpPort), serverName: "gateway"),
            logger: logger)
        let startup = StartupTasks(config: config, postgres: postgres, admin: kafkaAdmin, gate: gate, logger: logger) {
            if let token = config.bootstrapToken {
                try await TokenStore.ensureBootstrapAdmin(token: token, on: postgres, logger: logger)
            }
            let summary = try await ConfigApplier.apply(crmConfig, box: secrets, on: postgres, logger: logger)
            logger.info(
                "configuration loaded",
                metadata: ["file": "\(config.configFile ?? "-")", "summary": "\(summary)"])
        }
        let rollout = CampaignRollout(
            postgres: postgres,
            intake: SendIntake(
                postgres: postgres, producer: producer, topics: config.topics, defaultWabaId: config.whatsapp.wabaId,
                defaultPhoneNumberId: config.whatsapp.phoneNumberId,
                logger: logger),
            settings: rolloutSettings, gate: gate, logger: logger)
        var groupConfig = ServiceGroupConfiguration(
            services: [
                // First, so it stops last and exports the spans of the requests that drained.
                .init(service: tracing),
                .init(service: postgres),
                .init(service: ProducerService(producer: producer)),
                .init(service: startup, successTerminationBehavior: .ignore),
                .init(service: rollout, successTerminationBehavior: .ignore),
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
