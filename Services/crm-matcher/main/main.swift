import MatcherService
import ServiceKit
import WireModels

await serviceMain("crm-matcher") {
    let webhookSettings = try WebhookDeliverySettings()
    try await WorkerHost.run(
        service: "crm-matcher", defaultAdminPort: 9102,
        consumers: [
            ConsumerSpec(stage: "crm-matcher", topics: [Topics.inboundMessage]) { InboundMessageHandler(context: $0) },
            // Its own consumer group: queuing webhook deliveries never waits behind matching.
            ConsumerSpec(stage: "webhooks", topics: [Topics.crmActivity]) { ActivityWebhookFanOut(context: $0) },
        ],
        background: { context, gate in
            [
                WebhookDispatcher(
                    postgres: context.postgres, settings: webhookSettings, gate: gate, logger: context.logger)
            ]
        })
}
