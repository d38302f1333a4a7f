import Foundation
import WireModels

/// One bad part of a rule, named by its path (`trigger.type`, `actions[1].title`).
public struct WorkflowProblem: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// Reads a rule's `trigger`, `conditions` and `actions` from JSON, collecting every problem
/// (unknown types included) instead of stopping at the first. Checks that need the database
/// (the template exists, the owner is an active user, the webhook is registered) are the
/// caller's, on the references this returns.
public enum WorkflowRuleParser {
    public static let maxMinutes = 60 * 24 * 90
    public static let maxConditions = 20
    public static let maxActions = 10

    public static func trigger(_ value: JSONValue?, problems: inout [WorkflowProblem]) -> WorkflowTrigger? {
        guard case .object(let o)? = value else {
            problems.append(WorkflowProblem("trigger", "required, an object with a type"))
            return nil
        }
        guard let type = o["type"]?.stringValue else {
            problems.append(
                WorkflowProblem("trigger.type", "required, one of \(WorkflowTrigger.types.joined(separator: ", "))"))
            return nil
        }
        var r = Reader(object: o, path: "trigger", problems: problems)
        defer { problems = r.problems }
        switch type {
        case "inbound_message":
            r.only(["type"])
            return .inboundMessage
        case "keyword":
            r.only(["type", "keywords"])
            return r.strings("keywords", required: true).map(WorkflowTrigger.keyword)
        case "button_reply":
            r.only(["type", "payloads"])
            return .buttonReply(r.strings("payloads", required: false) ?? [])
        case "lead_stage_changed":
            r.only(["type", "stages"])
            return .leadStageChanged(r.strings("stages", required: false) ?? [])
        case "status_failed":
            r.only(["type", "error_codes"])
            return .statusFailed(r.ints("error_codes", 1...9_999_999) ?? [])
        case "no_reply":
            r.only(["type", "minutes"])
            return r.int("minutes", 1...maxMinutes, required: true).map { WorkflowTrigger.noReply(minutes: $0) }
        default:
            r.problems.append(
                WorkflowProblem(
                    "trigger.type", "unknown trigger '\(type)'; one of \(WorkflowTrigger.types.joined(separator: ", "))"
                ))
            return nil
        }
    }

    public static func conditions(_ value: JSONValue?, problems: inout [WorkflowProblem]) -> [WorkflowCondition]? {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value, items.count <= maxConditions else {
            problems.append(WorkflowProblem("conditions", "an array of at most \(maxConditions) conditions"))
            return nil
        }
        var out: [WorkflowCondition] = []
        for (i, item) in items.enumerated() {
            let path = "conditions[\(i)]"
            guard case .object(let o) = item, let type = o["type"]?.stringValue else {
                problems.append(
                    WorkflowProblem(
                        path + ".type", "required, one of \(WorkflowCondition.types.joined(separator: ", "))"))
                continue
            }
            var r = Reader(object: o, path: path, problems: problems)
            var condition: WorkflowCondition?
            switch type {
            case "phone_number":
                r.only(["type", "values"])
                condition = r.strings("values", required: true).map(WorkflowCondition.phoneNumber)
            case "contact_tag":
                r.only(["type", "tag"])
                condition = r.string("tag", max: 64).map(WorkflowCondition.contactTag)
            case "lead_stage":
                r.only(["type", "values"])
                condition = r.strings("values", required: true).map(WorkflowCondition.leadStage)
            case "lead_status":
                r.only(["type", "values"])
                if let values = r.strings("values", required: true) {
                    if values.allSatisfy({ ["open", "won", "lost"].contains($0) }) {
                        condition = .leadStatus(values)
                    } else {
                        r.problems.append(WorkflowProblem(path + ".values", "each one of open, won, lost"))
                    }
                }
            case "source":
                r.only(["type", "channel"])
                if let channel = r.string("channel", max: 32) {
                    if WorkflowCondition.channels.contains(channel) {
                        condition = .source(channel)
                    } else {
                        r.problems.append(
                            WorkflowProblem(
                                path + ".channel", "one of \(WorkflowCondition.channels.joined(separator: ", "))"))
                    }
                }
            case "text_contains":
                r.only(["type", "text"])
                condition = r.string("text", max: 200).map(WorkflowCondition.textContains)
            default:
                r.problems.append(
                    WorkflowProblem(
                        path + ".type",
                        "unknown condition '\(type)'; one of \(WorkflowCondition.types.joined(separator: ", "))"))
            }
            problems = r.problems
            if let condition { out.append(condition) }
        }
        return out.count == items.count ? out : nil
    }

    public static func actions(_ value: JSONValue?, problems: inout [WorkflowProblem]) -> [WorkflowAction]? {
        guard case .array(let items)? = value, !items.isEmpty, items.count <= maxActions else {
            problems.append(WorkflowProblem("actions", "required, an array of 1 to \(maxActions) actions"))
            return nil
        }
        var out: [WorkflowAction] = []
        for (i, item) in items.enumerated() {
            let path = "actions[\(i)]"
            guard case .object(let o) = item, let type = o["type"]?.stringValue else {
                problems.append(
                    WorkflowProblem(path + ".type", "required, one of \(WorkflowAction.types.joined(separator: ", "))"))
                continue
            }
            var r = Reader(object: o, path: path, problems: problems)
            var action: WorkflowAction?
            switch type {
            case "create_task":
                r.only(["type", "title", "due_in_minutes", "owner_id"])
                let title = r.string("title", max: 200)
                let due = r.int("due_in_minutes", 0...maxMinutes, required: false)
                let owner = r.uuid("owner_id", required: false)
                if let title { action = .createTask(title: title, dueInMinutes: due, ownerId: owner) }
            case "assign_owner":
                r.only(["type", "owner_id"])
                action = r.uuid("owner_id", required: true).map(WorkflowAction.assignOwner)
            case "set_lead_stage":
                r.only(["type", "stage"])
                action = r.string("stage", max: 64).map(WorkflowAction.setLeadStage)
            case "add_tag":
                r.only(["type", "tag"])
                action = r.string("tag", max: 64).map(WorkflowAction.addTag)
            case "send_template":
                r.only(["type", "name", "language", "variables"])
                let name = r.string("name", max: 512)
                let language = r.string("language", max: 16)
                let variables = r.stringMap("variables")
                if let name, let language, let variables {
                    action = .sendTemplate(name: name, language: language, variables: variables)
                }
            case "call_webhook":
                r.only(["type", "webhook_id"])
                action = r.uuid("webhook_id", required: true).map(WorkflowAction.callWebhook)
            case "escalate":
                r.only(["type", "title", "due_in_minutes"])
                let title = r.string("title", max: 200)
                let due = r.int("due_in_minutes", 0...maxMinutes, required: false)
                if let title { action = .escalate(title: title, dueInMinutes: due) }
            default:
                r.problems.append(
                    WorkflowProblem(
                        path + ".type",
                        "unknown action '\(type)'; one of \(WorkflowAction.types.joined(separator: ", "))"))
            }
            problems = r.problems
            if let action { out.append(action) }
        }
        return out.count == items.count ? out : nil
    }

    /// Field readers over one JSON object, naming problems by `path.field`.
    struct Reader {
        let object: [String: JSONValue]
        let path: String
        var problems: [WorkflowProblem]

        mutating func only(_ allowed: Set<String>) {
            for key in object.keys.sorted() where !allowed.contains(key) {
                problems.append(WorkflowProblem("\(path).\(key)", "unknown field"))
            }
        }

        mutating func string(_ key: String, max: Int) -> String? {
            guard case .string(let s)? = object[key],
                !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, s.count <= max
            else {
                problems.append(
                    WorkflowProblem("\(path).\(key)", "required, a non-empty string of at most \(max) characters"))
                return nil
            }
            return s.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        mutating func strings(_ key: String, required: Bool) -> [String]? {
            switch object[key] {
            case nil, .null?:
                if required {
                    problems.append(WorkflowProblem("\(path).\(key)", "required, a non-empty list of strings"))
                }
                return nil
            case .array(let items)?:
                let values = items.compactMap { v -> String? in
                    guard case .string(let s) = v else { return nil }
                    let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
                    return t.isEmpty || t.count > 200 ? nil : t
                }
                if values.count == items.count, !values.isEmpty, values.count <= 100 { return values }
            default: break
            }
            problems.append(
                WorkflowProblem("\(path).\(key)", "a list of 1 to 100 non-empty strings of at most 200 characters"))
            return nil
        }

        mutating func int(_ key: String, _ range: ClosedRange<Int>, required: Bool) -> Int? {
            switch object[key] {
            case nil, .null?:
                if required { problems.append(WorkflowProblem("\(path).\(key)", "required")) }
                return nil
            case .number(let n)?
            where n.rounded() == n && Double(range.lowerBound) <= n && n <= Double(range.upperBound):
                return Int(n)
            default:
                problems.append(
                    WorkflowProblem("\(path).\(key)", "a whole number from \(range.lowerBound) to \(range.upperBound)"))
                return nil
            }
        }

        /// An optional list of whole numbers in `range` (Meta's error codes); absent means empty.
        mutating func ints(_ key: String, _ range: ClosedRange<Int>) -> [Int]? {
            switch object[key] {
            case nil, .null?: return nil
            case .array(let items)? where !items.isEmpty && items.count <= 100:
                let values = items.compactMap { v -> Int? in
                    guard case .number(let n) = v, n.rounded() == n, Double(range.lowerBound) <= n,
                        n <= Double(range.upperBound)
                    else { return nil }
                    return Int(n)
                }
                if values.count == items.count { return values }
            default: break
            }
            problems.append(
                WorkflowProblem(
                    "\(path).\(key)",
                    "a list of 1 to 100 whole numbers from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }

        mutating func uuid(_ key: String, required: Bool) -> UUID? {
            switch object[key] {
            case nil, .null?:
                if required { problems.append(WorkflowProblem("\(path).\(key)", "required, a user id")) }
                return nil
            case .string(let s)? where UUID(uuidString: s) != nil:
                return UUID(uuidString: s)
            default:
                problems.append(WorkflowProblem("\(path).\(key)", "an id (UUID)"))
                return nil
            }
        }

        /// An object of string (or number) values; absent means empty.
        mutating func stringMap(_ key: String) -> [String: String]? {
            switch object[key] {
            case nil, .null?: return [:]
            case .object(let o)?:
                var out: [String: String] = [:]
                for (k, v) in o {
                    guard let s = v.stringValue else {
                        problems.append(WorkflowProblem("\(path).\(key).\(k)", "a string or number"))
                        return nil
                    }
                    out[k] = s
                }
                return out
            default:
                problems.append(WorkflowProblem("\(path).\(key)", "an object of variable ids to values"))
                return nil
            }
        }
    }
}
