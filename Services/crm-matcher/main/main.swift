import MatcherService
import ServiceKit
import WireModels

await serviceMain("crm-matcher") {
    let settings = try MatcherSettings.fromEnvironment()
    let webhookSettings = try WebhookDeliverySettings()
    try await WorkerHost.run(
        service: "crm-matcher", defaultAdminPort: 9102,
        consumers: [
            ConsumerSpec(stage: "crm-matcher", topics: [Topics.inboundMessage]) {
                InboundMessageHandler(context: $0, settings: settings, router: RuleRouter())
            },
            // Own groups: first responses, WhatsApp's opt-outs and webhook fan-out never wait
            // behind inbound traffic (nor it behind them).
            ConsumerSpec(stage: "crm-matcher-responses", topics: [Topics.outboundResult]) {
                OutboundResultHandler(context: $0)
            },
            ConsumerSpec(stage: "crm-matcher-preferences", topics: [Topics.accountEvent]) {
                MarketingPreferencesHandler(context: $0)
            },
            ConsumerSpec(stage: "webhooks", topics: [Topics.crmActivity]) { ActivityWebhookFanOut(context: $0) },
            ConsumerSpec(stage: "crm-matcher-workflows", topics: [Topics.crmActivity]) {
                LeadStageWorkflowHandler(context: $0, settings: settings.automation)
            },
            ConsumerSpec(stage: "crm-matcher-failures", topics: [Topics.status, Topics.outboundResult]) {
                FailureWorkflowHandler(context: $0, settings: settings.automation)
            },
        ],
        background: { context, gate in
            [
                ActivityRelay(publisher: ActivityPublisher(context: context), gate: gate, logger: context.logger),
                WebhookDispatcher(
                    postgres: context.postgres, settings: webhookSettings, secrets: try context.config.secretBox(),
                    gate: gate, logger: context.logger),
                CRMScheduler(context: context, settings: settings.automation, gate: gate),
            ]
        })
}
