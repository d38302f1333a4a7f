import WireModels

/// One consume stage: its name (the consumer group's suffix), the topics it reads and how
/// many partitions of a poll it handles at once.
public struct Stage: Sendable, Hashable {
    public let name: String
    public let topics: [String]
    /// nil = `CONSUMER_CONCURRENCY`; a handler that batches a whole poll itself has 1.
    public let concurrency: Int?

    init(_ name: String, _ topics: [String], concurrency: Int? = nil) {
        self.name = name
        self.topics = topics
        self.concurrency = concurrency
    }
}

/// Every consume stage of the system, declared once: services build their consumers from
/// these (`ConsumerSpec` takes a `Stage`), and the reporter measures the lag of exactly these
/// groups from the outside. A new stage is added here and nowhere else.
public enum Stages {
    public static let normalizer = Stage("normalizer", [Topics.webhookRaw])
    public static let crmMatcher = Stage("crm-matcher", [Topics.inboundMessage])
    /// First responses, WhatsApp's opt-outs, webhook fan-out, workflows and failures each have a
    /// group of their own: none waits behind inbound traffic (nor it behind them).
    public static let crmMatcherResponses = Stage("crm-matcher-responses", [Topics.outboundResult])
    public static let crmMatcherPreferences = Stage("crm-matcher-preferences", [Topics.accountEvent])
    public static let webhooks = Stage("webhooks", [Topics.crmActivity])
    public static let crmMatcherWorkflows = Stage("crm-matcher-workflows", [Topics.crmActivity])
    public static let crmMatcherFailures = Stage("crm-matcher-failures", [Topics.status, Topics.outboundResult])
    /// The sender gates, paces and sends a whole poll as one batch.
    public static let sender = Stage("sender", [Topics.outboundRequest], concurrency: 1)
    public static let senderTemplates = Stage("sender-templates", [Topics.templateEvent])
    public static let reporter = Stage("reporter", [Topics.status])

    public static let all: [Stage] = [
        normalizer, crmMatcher, crmMatcherResponses, crmMatcherPreferences, webhooks, crmMatcherWorkflows,
        crmMatcherFailures, sender, senderTemplates, reporter,
    ]
}

/// The consumer groups whose lag the reporter (and `crmctl status`) measure from the outside.
public enum ConsumerGroups {
    /// The deployment's consumer group ids (prefixed as `config` names them): each one's
    /// topics, for measuring it from the broker, and the stage it belongs to, for labelling.
    public static func groups(_ config: ServiceConfig) -> (topics: [String: [String]], stage: [String: String]) {
        var topics: [String: [String]] = [:]
        var stage: [String: String] = [:]
        for s in Stages.all {
            let group = config.consumerGroup(s.name)
            topics[group] = s.topics.map(config.topics.name)
            stage[group] = s.name
        }
        return (topics, stage)
    }
}
