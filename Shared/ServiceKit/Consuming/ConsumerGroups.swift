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

    /// The deployment's consumer group ids (prefixed as `config` names them): each one's
    /// topics, for measuring it from the broker, and the stage it belongs to, for labelling.
    public static func groups(_ config: ServiceConfig) -> (topics: [String: [String]], stage: [String: String]) {
        var topics: [String: [String]] = [:]
        var stage: [String: String] = [:]
        for (name, read) in stages {
            let group = config.consumerGroup(name)
            topics[group] = read.map(config.topics.name)
            stage[group] = name
        }
        return (topics, stage)
    }
}
