import CRMCore
import Foundation
import Hummingbird
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// `GET/POST /api/v1/workflow-rules`, `PATCH /api/v1/workflow-rules/{id}` (admins and
/// managers). A rule is validated whole on every save: every bad field is listed, unknown
/// trigger/condition/action types are refused, and what actions refer to must exist (an
/// APPROVED template, an active user, a registered outbound webhook).
struct WorkflowRulesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let defaultWabaId: String?
    let logger: Logger

    static let fields: Set<String> = ["name", "trigger", "conditions", "actions", "position", "active"]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("workflow-rules") { request, _ in try await self.list(request) }
        group.post("workflow-rules") { request, _ in try await self.create(request) }
        group.patch("workflow-rules/:id") { request, context in
            try await self.update(request, id: try uuidParameter(context, what: "workflow rule"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .manageAutomation)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let after = page.decodedKey(
            { key -> (position: Int, id: UUID)? in
                let parts = key.split(separator: "_")
                guard parts.count == 2, let position = Int(parts[0]), let id = UUID(uuidString: String(parts[1]))
                else { return nil }
                return (position, id)
            }, &problems)
        try problems.check()
        let rules = try await WorkflowStore.list(after: after, limit: page.limit, on: postgres, logger: logger)
        return try json(
            page.page(rules.map(\.json)) { rule in
                "\(rule["position"]?.stringValue ?? "0")_\(rule["id"]?.stringValue ?? "")"
            })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .manageAutomation)
        var body = try await JSONBody(request, allowed: Self.fields)
        let fields = try await read(&body, base: nil)
        let rule = try await postgres.transaction(logger: logger) { conn in
            let rule = try await WorkflowStore.create(fields, createdBy: access.actor, on: conn, logger: logger)
            try await AuditStore.record(
                actor: access.actor, action: "workflow_rule.create", entity: "workflow_rule",
                entityId: rule.id.uuidString, before: nil, after: rule.json, on: conn, logger: logger)
            return rule
        }
        logger.info("workflow rule created", metadata: ["rule_id": "\(rule.id)", "name": "\(rule.name)"])
        return try json(rule.json, status: .created)
    }

    func update(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .manageAutomation)
        var body = try await JSONBody(request, allowed: Self.fields)
        guard
            let existing = try await postgres.withConnection({ conn in
                try await WorkflowStore.get(id: id, lock: false, on: conn, logger: logger)
            })
        else { throw APIError.notFound("no workflow rule with this id") }
        let fields = try await read(&body, base: existing)
        let rule = try await postgres.transaction(logger: logger) { conn in
            guard let before = try await WorkflowStore.get(id: id, lock: true, on: conn, logger: logger) else {
                throw APIError.notFound("no workflow rule with this id")
            }
            let after = try await WorkflowStore.update(id: id, fields, on: conn, logger: logger)
            try await AuditStore.record(
                actor: access.actor, action: "workflow_rule.update", entity: "workflow_rule",
                entityId: id.uuidString, before: before.json, after: after.json, on: conn, logger: logger)
            return after
        }
        return try json(rule.json)
    }

    /// The rule's fields from the body: every given one checked, absent ones kept from `base`
    /// (required when creating). Throws 400 listing every problem.
    func read(_ body: inout JSONBody, base: WorkflowRule?) async throws -> WorkflowStore.Fields {
        let name = body.string("name", required: base == nil, maxLength: 200)
        let position = body.int("position", range: 0...1_000_000)
        let active = body.bool("active")
        var problems: [WorkflowProblem] = []
        var trigger = base?.trigger
        if body.has("trigger") || base == nil {
            trigger = WorkflowRuleParser.trigger(body.raw("trigger"), problems: &problems)
        }
        var conditions = base?.conditions ?? []
        if body.has("conditions") {
            conditions = WorkflowRuleParser.conditions(body.raw("conditions"), problems: &problems) ?? []
        }
        var actions = base?.actions
        if body.has("actions") || base == nil {
            actions = WorkflowRuleParser.actions(body.raw("actions"), problems: &problems)
        }
        // References are checked for every well-formed action, even when another one is not.
        for (i, item) in (body.has("actions") ? body.raw("actions")?.arrayValue ?? [] : []).enumerated() {
            var ignored: [WorkflowProblem] = []
            if let action = WorkflowRuleParser.actions(.array([item]), problems: &ignored)?.first {
                problems += try await referenceProblems(action, path: "actions[\(i)]")
            }
        }
        for p in problems { body.problems.add(p.field, p.message) }
        try body.problems.check()
        guard let trigger, let actions, let name = name ?? base?.name else {
            throw APIError.validation(body.problems.items)
        }
        return WorkflowStore.Fields(
            name: name, trigger: trigger, conditions: conditions, actions: actions,
            position: position ?? base?.position ?? 100, active: active ?? base?.active ?? true)
    }

    /// What an action names must exist now (it is checked again when the rule runs).
    func referenceProblems(_ action: WorkflowAction, path: String) async throws -> [WorkflowProblem] {
        switch action {
        case .sendTemplate(let name, let language, _):
            guard
                let template = try await TemplateStore.get(
                    name: name, language: language, wabaId: defaultWabaId, on: postgres, logger: logger)
            else {
                return [
                    WorkflowProblem(
                        path + ".name",
                        "no template \(name) in \(language) in the synced catalog (POST /templates/sync?)")
                ]
            }
            guard template.status == "APPROVED" else {
                return [
                    WorkflowProblem(
                        path + ".name", "template \(name) in \(language) is \(template.status), not APPROVED")
                ]
            }
            return []
        case .assignOwner(let owner), .createTask(_, _, .some(let owner)):
            let active = try await postgres.withConnection { conn in
                try await UserLookup.isActive(owner, on: conn, logger: logger)
            }
            return active ? [] : [WorkflowProblem(path + ".owner_id", "no active user with this id")]
        case .callWebhook(let id):
            let found = try await OutboundWebhookStore.get(id: id, on: postgres, logger: logger)
            return found == nil ? [WorkflowProblem(path + ".webhook_id", "no outbound webhook with this id")] : []
        default:
            return []
        }
    }
}
