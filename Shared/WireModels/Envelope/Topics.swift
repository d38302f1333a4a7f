/// Topic names (contract). An optional prefix namespaces them on a shared cluster
/// (KAFKA_TOPIC_PREFIX); the default is no prefix.
public struct Topics: Sendable, Hashable {
    public static let webhookRaw = "wa.webhook.raw"
    public static let inboundMessage = "wa.inbound.message"
    public static let status = "wa.status"
    public static let templateEvent = "wa.template.event"
    public static let accountEvent = "wa.account.event"
    public static let outboundRequest = "wa.outbound.request"
    public static let outboundResult = "wa.outbound.result"
    public static let crmActivity = "crm.activity"
    public static let deadLetter = "wa.dlq"

    public static let all = [
        webhookRaw, inboundMessage, status, templateEvent, accountEvent, outboundRequest, outboundResult,
        crmActivity, deadLetter,
    ]

    public var prefix: String

    public init(prefix: String = "") { self.prefix = prefix }

    public func name(_ base: String) -> String { prefix + base }

    /// The contract name of a (possibly prefixed) topic.
    public func base(of name: String) -> String {
        name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
    }
}

/// Event type names carried in the envelope's `type`.
public enum EventTypes {
    public static let webhookRaw = "wa.webhook.raw.v1"
    public static let inboundMessage = "wa.inbound.message.v1"
    public static let status = "wa.status.v1"
    public static let templateEvent = "wa.template.event.v1"
    public static let accountEvent = "wa.account.event.v1"
    public static let outboundRequest = "wa.outbound.request.v1"
    public static let outboundResult = "wa.outbound.result.v1"
    public static let crmActivity = "crm.activity.v1"
    public static let deadLetter = "wa.dlq.v1"
}
