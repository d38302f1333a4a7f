import Foundation
import WireModels

/// What starts a rule. JSON: `{"type": "inbound_message"}`, `{"type": "keyword", "keywords": [...]}`,
/// `{"type": "button_reply", "payloads": [...]}` (empty or absent: any reply),
/// `{"type": "no_reply", "minutes": N}` (no outbound message to the contact N minutes after an
/// inbound one; checked by the scheduler), `{"type": "lead_stage_changed", "stages": [...]}`
/// (a lead moved to one of these stages; empty or absent: any stage),
/// `{"type": "status_failed", "error_codes": [...]}` (a message to the contact failed: a
/// `failed` delivery status from Meta, or a send the sender gave up on; empty or absent: any code).
public enum WorkflowTrigger: Sendable, Equatable {
    case inboundMessage
    case keyword([String])
    case buttonReply([String])
    case noReply(minutes: Int)
    case leadStageChanged([String])
    case statusFailed([Int])

    public static let types = [
        "inbound_message", "keyword", "button_reply", "no_reply", "lead_stage_changed", "status_failed",
    ]

    public var json: JSONValue {
        switch self {
        case .inboundMessage: ["type": "inbound_message"]
        case .keyword(let words): ["type": "keyword", "keywords": .array(words.map(JSONValue.string))]
        case .buttonReply(let payloads) where payloads.isEmpty: ["type": "button_reply"]  // any reply
        case .buttonReply(let payloads): ["type": "button_reply", "payloads": .array(payloads.map(JSONValue.string))]
        case .noReply(let minutes): ["type": "no_reply", "minutes": .number(Double(minutes))]
        case .leadStageChanged(let stages) where stages.isEmpty: ["type": "lead_stage_changed"]
        case .leadStageChanged(let stages):
            ["type": "lead_stage_changed", "stages": .array(stages.map(JSONValue.string))]
        case .statusFailed(let codes) where codes.isEmpty: ["type": "status_failed"]
        case .statusFailed(let codes):
            ["type": "status_failed", "error_codes": .array(codes.map { JSONValue.number(Double($0)) })]
        }
    }
}

/// A condition every matching event must meet (all of a rule's conditions must hold).
public enum WorkflowCondition: Sendable, Equatable {
    /// The business number the message came in on (`values`: phone_number_ids).
    case phoneNumber([String])
    case contactTag(String)
    /// The open lead's stage, or status (open/won/lost), is one of the values.
    case leadStage([String])
    case leadStatus([String])
    /// The message's source channel: `direct`, `ad`, `campaign` or `quick_reply`.
    case source(String)
    /// The text contains this, ignoring case and accents.
    case textContains(String)

    public static let types = ["phone_number", "contact_tag", "lead_stage", "lead_status", "source", "text_contains"]
    public static let channels = ["direct", "ad", "campaign", "quick_reply"]

    public var json: JSONValue {
        switch self {
        case .phoneNumber(let v): ["type": "phone_number", "values": .array(v.map(JSONValue.string))]
        case .contactTag(let t): ["type": "contact_tag", "tag": .string(t)]
        case .leadStage(let v): ["type": "lead_stage", "values": .array(v.map(JSONValue.string))]
        case .leadStatus(let v): ["type": "lead_status", "values": .array(v.map(JSONValue.string))]
        case .source(let c): ["type": "source", "channel": .string(c)]
        case .textContains(let t): ["type": "text_contains", "text": .string(t)]
        }
    }
}

/// What a rule does, in order.
public enum WorkflowAction: Sendable, Equatable {
    /// A task for `ownerId`, else the lead's owner, else the contact's; due N minutes after the event.
    case createTask(title: String, dueInMinutes: Int?, ownerId: UUID?)
    case assignOwner(UUID)
    case setLeadStage(String)
    case addTag(String)
    /// An approved template through `wa.outbound.request` (the sender's policy gate applies).
    case sendTemplate(name: String, language: String, variables: [String: String])
    /// Queues the event for one registered outbound webhook.
    case callWebhook(UUID)
    /// A task for the manager: the owner's department manager, else the configured one.
    case escalate(title: String, dueInMinutes: Int?)

    public static let types = [
        "create_task", "assign_owner", "set_lead_stage", "add_tag", "send_template", "call_webhook", "escalate",
    ]

    public var type: String {
        switch self {
        case .createTask: "create_task"
        case .assignOwner: "assign_owner"
        case .setLeadStage: "set_lead_stage"
        case .addTag: "add_tag"
        case .sendTemplate: "send_template"
        case .callWebhook: "call_webhook"
        case .escalate: "escalate"
        }
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["type": .string(type)]
        switch self {
        case .createTask(let title, let due, let owner):
            o["title"] = .string(title)
            o["due_in_minutes"] = due.map { JSONValue.number(Double($0)) } ?? JSONValue.null
            o["owner_id"] = owner.map { JSONValue.string($0.uuidString.lowercased()) } ?? JSONValue.null
        case .assignOwner(let owner): o["owner_id"] = .string(owner.uuidString.lowercased())
        case .setLeadStage(let stage): o["stage"] = .string(stage)
        case .addTag(let tag): o["tag"] = .string(tag)
        case .sendTemplate(let name, let language, let variables):
            o["name"] = .string(name)
            o["language"] = .string(language)
            o["variables"] = .object(variables.mapValues(JSONValue.string))
        case .callWebhook(let id): o["webhook_id"] = .string(id.uuidString.lowercased())
        case .escalate(let title, let due):
            o["title"] = .string(title)
            o["due_in_minutes"] = due.map { JSONValue.number(Double($0)) } ?? JSONValue.null
        }
        return .object(o)
    }
}

/// A saved rule (`GET/POST /workflow-rules`, `PATCH /workflow-rules/{id}`). Active rules run in
/// `position` order, then by id, so the order is always the same.
public struct WorkflowRule: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var trigger: WorkflowTrigger
    public var conditions: [WorkflowCondition]
    public var actions: [WorkflowAction]
    public var position: Int
    public var active: Bool
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, name: String, trigger: WorkflowTrigger, conditions: [WorkflowCondition], actions: [WorkflowAction],
        position: Int = 100, active: Bool = true, version: Int = 1, createdAt: Date = .now, updatedAt: Date = .now
    ) {
        self.id = id
        self.name = name
        self.trigger = trigger
        self.conditions = conditions
        self.actions = actions
        self.position = position
        self.active = active
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var json: JSONValue {
        [
            "id": .string(id.uuidString.lowercased()), "name": .string(name), "trigger": trigger.json,
            "conditions": .array(conditions.map(\.json)), "actions": .array(actions.map(\.json)),
            "position": .number(Double(position)), "active": .bool(active), "version": .number(Double(version)),
            "created_at": .string(RFC3339.string(from: createdAt)),
            "updated_at": .string(RFC3339.string(from: updatedAt)),
        ]
    }
}
