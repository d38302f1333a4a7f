import ServiceKit

/// Wires crm-matcher: inbound messages into contacts, conversations and leads; first
/// responses; WhatsApp's opt-outs; outbound-webhook fan-out; workflow and failure rules; and
/// in the background the activity relay, webhook dispatcher and scheduler.
public enum MatcherWorker {
    public static func run() async throws {
        let settings = try MatcherSettings.fromEnvironment()
        let webhookSettings = try WebhookDeliverySettings()
        try await WorkerHost.run(
            service: "crm-matcher", defaultAdminPort: 9102,
            consumers: [
                ConsumerSpec(Stages.crmMatcher) {
                    InboundMessageHandler(context: $0, settings: settings, router: RuleRouter())
                },
                ConsumerSpec(Stages.crmMatcherResponses) { OutboundResultHandler(context: $0) },
                ConsumerSpec(Stages.crmMatcherPreferences) { MarketingPreferencesHandler(context: $0) },
                ConsumerSpec(Stages.webhooks) { ActivityWebhookFanOut(context: $0) },
                ConsumerSpec(Stages.crmMatcherWorkflows) {
                    LeadStageWorkflowHandler(context: $0, settings: settings.automation)
                },
                ConsumerSpec(Stages.crmMatcherFailures) {
                    FailureWorkflowHandler(context: $0, settings: settings.automation)
                },
            ],
            background: { context, gate in
                [
                    PeriodicService.outboxRelay(OutboxPublisher(context: context), gate: gate, logger: context.logger),
                    WebhookDispatcher(
                        postgres: context.postgres, settings: webhookSettings, secrets: try context.config.secretBox(),
                        gate: gate, logger: context.logger),
                    CRMScheduler(context: context, settings: settings.automation, gate: gate),
                ]
            })
    }
}
