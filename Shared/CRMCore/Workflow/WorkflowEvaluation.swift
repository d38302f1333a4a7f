import Foundation

/// What rules look at for one inbound message: the message, the contact's tags and the open
/// lead as they are after the matcher's CRM writes, before any rule ran.
public struct WorkflowFacts: Sendable, Equatable {
    public var text: String?
    public var messageType: String
    /// Button/list/quick-reply answer: its payload and id (nil: not a reply).
    public var replyValues: [String]?
    public var phoneNumberId: String
    /// `direct`, `ad`, `campaign` or `quick_reply` (the matcher's source attribution).
    public var channel: String
    public var tags: [String]
    public var leadStage: String?
    public var leadStatus: String?

    public init(
        text: String?, messageType: String, replyValues: [String]?, phoneNumberId: String, channel: String,
        tags: [String], leadStage: String?, leadStatus: String?
    ) {
        self.text = text
        self.messageType = messageType
        self.replyValues = replyValues
        self.phoneNumberId = phoneNumberId
        self.channel = channel
        self.tags = tags
        self.leadStage = leadStage
        self.leadStatus = leadStatus
    }
}

/// Rule evaluation, free of I/O: whether a trigger fires for a message and whether every
/// condition holds. Text comparisons ignore case and accents; keywords match whole words
/// (`preço` matches "Qual o PRECO?", `price` does not match "priceless").
public enum WorkflowEvaluation {
    /// Whether an inbound message fires this trigger now. `no_reply` never fires on the
    /// message itself (it is scheduled then), nor do `lead_stage_changed` and `status_failed`.
    public static func fires(_ trigger: WorkflowTrigger, for facts: WorkflowFacts) -> Bool {
        switch trigger {
        case .inboundMessage:
            return true
        case .keyword(let words):
            guard let text = facts.text else { return false }
            let padded = " " + normalize(text) + " "
            return words.contains { word in
                let w = normalize(word)
                return !w.isEmpty && padded.contains(" " + w + " ")
            }
        case .buttonReply(let payloads):
            guard let values = facts.replyValues else { return false }
            return payloads.isEmpty || payloads.contains { values.contains($0) }
        case .noReply, .leadStageChanged, .statusFailed:
            return false
        }
    }

    /// Whether a lead moving to `stage` fires this trigger.
    public static func firesOnStageChange(_ trigger: WorkflowTrigger, to stage: String) -> Bool {
        guard case .leadStageChanged(let stages) = trigger else { return false }
        return stages.isEmpty || stages.contains { normalize($0) == normalize(stage) }
    }

    /// Whether a failed message with this error code (nil: Meta gave none) fires this trigger.
    public static func firesOnFailure(_ trigger: WorkflowTrigger, code: Int?) -> Bool {
        guard case .statusFailed(let codes) = trigger else { return false }
        return codes.isEmpty || code.map(codes.contains) == true
    }

    /// The minutes to wait for an agent's reply, when the trigger is `no_reply`.
    public static func noReplyMinutes(_ trigger: WorkflowTrigger) -> Int? {
        if case .noReply(let minutes) = trigger { return minutes }
        return nil
    }

    public static func holds(_ conditions: [WorkflowCondition], for facts: WorkflowFacts) -> Bool {
        conditions.allSatisfy { holds($0, for: facts) }
    }

    public static func holds(_ condition: WorkflowCondition, for facts: WorkflowFacts) -> Bool {
        switch condition {
        case .phoneNumber(let ids): return ids.contains(facts.phoneNumberId)
        case .contactTag(let tag):
            let wanted = normalize(tag)
            return facts.tags.contains { normalize($0) == wanted }
        case .leadStage(let stages):
            guard let stage = facts.leadStage.map({ normalize($0) }) else { return false }
            return stages.contains { normalize($0) == stage }
        case .leadStatus(let statuses): return facts.leadStatus.map { statuses.contains($0) } ?? false
        case .source(let channel): return facts.channel == channel
        case .textContains(let needle):
            guard let text = facts.text else { return false }
            return normalize(text).contains(normalize(needle))
        }
    }

    /// Lowercased, accents removed, every run of non-alphanumerics one space, trimmed.
    public static func normalize(_ s: String) -> String {
        let folded = s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        var out = ""
        var space = false
        for ch in folded {
            if ch.isLetter || ch.isNumber {
                if space && !out.isEmpty { out.append(" ") }
                out.append(ch)
                space = false
            } else {
                space = true
            }
        }
        return out
    }
}
