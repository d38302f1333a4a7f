import WireModels

/// Every consume stage of the system and the topics it reads: the consumer groups whose lag
/// the reporter measures from the outside. A new `ConsumerSpec` in a service's `main` belongs
/// here too.
public enum ConsumerGroups {
    public static let stages: [String: [String]] = [
        "normalizer": [Topics.webhookRaw],
        "crm-matcher": [Topics.inboundMessage],
        "crm-matcher-responses": [Topics.outboundResult],
        "crm-matcher-preferences": [Topics.accountEvent],
        "webhooks": [Topics.crmActivity],
        "crm-matcher-workflows": [Topics.crmActivity],
        "crm-matcher-failures": [Topics.status, Topics.outboundResult],
        "sender": [Topics.outboundRequest],
        "sender-templates": [Topics.templateEvent],
        "reporter": [Topics.status],
    ]
}
