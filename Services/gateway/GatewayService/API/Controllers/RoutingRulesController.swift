import CRMCore
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage
import WireModels

/// `GET/POST /api/v1/routing-rules`, `PATCH /api/v1/routing-rules/{id}`: the owner routing
/// rules crm-matcher applies when an enquiry opens a lead. Admins write, managers read;
/// every write is audited. A PATCH is applied to the stored rule and the result is validated
/// as a whole (`RoutingRuleSpec.problems`, the config file's validation too).
struct RoutingRulesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    static let fields: Set<String> = [
        "name", "position", "active", "kind", "values", "assign", "contact_owner", "open_lead",
    ]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("routing-rules") { request, _ in try await self.list(request) }
        group.post("routing-rules") { request, _ in try await self.create(request) }
        group.patch("routing-rules/:id") { request, context in
            try await self.update(request, id: try uuidParameter(context, what: "routing rule"))
        }
    }

    /// The fields of a body, each already type-checked (absent: nil / `.keep`).
    struct Input {
        var name: String?
        var position: Int?
        var active: Bool?
        var kind: RoutingRuleKind?
        var values: [String]?
        var assign: Change<RoutingTarget> = .keep
        var contactOwner: ContactOwnerPolicy?
        var openLead: Bool?

        func applied(to s: RoutingRuleSpec) -> RoutingRuleSpec {
            var s = s
            if let name { s.name = name }
            if let position { s.position = position }
            if let active { s.active = active }
            if let kind { s.kind = kind }
            if let values { s.values = values }
            if assign.isSet { s.target = assign.newValue }
            if let contactOwner { s.contactOwner = contactOwner }
            if let openLead { s.openLead = openLead }
            return s
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readRouting)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let offset = page.offset(&problems)
        try problems.check()
        let rules = try await RoutingRuleStore.list(offset: offset, limit: page.limit, on: postgres, logger: logger)
        return try json(page.page(rules) { _ in String(offset + page.limit) })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .writeRouting)
        var body = try await JSONBody(request, allowed: Self.fields)
        let input = Self.parse(&body, creating: true)
        guard let kind = input.kind else { throw APIError.validation(body.problems.items) }
        // Position 0 stands in for "after the last rule" (decided in the transaction).
        let draft = input.applied(to: RoutingRuleSpec(name: input.name ?? "", position: 0, kind: kind))
        try Self.validate(draft, body.problems)
        let rule = try await postgres.transaction(logger: logger) { conn -> RoutingRule in
            var spec = draft
            if input.position == nil {
                spec.position = try await RoutingRuleStore.nextPosition(on: conn, logger: logger)
            }
            try await Self.checkOwner(spec.target, on: conn, logger: logger)
            let rule = try await Self.conflictsAs409 {
                try await RoutingRuleStore.create(spec, createdBy: access.actor, on: conn, logger: logger)
            }
            try await AuditStore.record(
                actor: access.userId, action: "create", entity: "routing_rule",
                entityId: rule.id.uuidString.lowercased(),
                before: nil, after: rule, on: conn, logger: logger)
            return rule
        }
        logger.info("routing rule created", metadata: ["rule_id": "\(rule.id)", "kind": "\(kind.rawValue)"])
        return try json(rule, status: .created)
    }

    func update(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .writeRouting)
        var body = try await JSONBody(request, allowed: Self.fields)
        let input = Self.parse(&body, creating: false)
        let problems = body.problems
        let rule = try await postgres.transaction(logger: logger) { conn -> RoutingRule in
            guard let before = try await RoutingRuleStore.get(id: id, lock: true, on: conn, logger: logger) else {
                throw APIError.notFound("no routing rule \(id.uuidString.lowercased())")
            }
            let spec = input.applied(to: before.spec)
            try Self.validate(spec, problems)
            if input.assign.isSet { try await Self.checkOwner(spec.target, on: conn, logger: logger) }
            guard
                let after = try await Self.conflictsAs409({
                    try await RoutingRuleStore.update(id: id, spec, on: conn, logger: logger)
                })
            else { throw APIError.notFound("no routing rule \(id.uuidString.lowercased())") }
            try await AuditStore.record(
                actor: access.userId, action: "update", entity: "routing_rule", entityId: id.uuidString.lowercased(),
                before: before, after: after, on: conn, logger: logger)
            return after
        }
        logger.info("routing rule updated", metadata: ["rule_id": "\(id)"])
        return try json(rule)
    }

    // MARK: - Input

    static func parse(_ body: inout JSONBody, creating: Bool) -> Input {
        var input = Input()
        input.name = body.string("name", required: creating)
        input.position = body.int("position", range: RoutingRuleSpec.positions)
        input.active = body.bool("active")
        input.kind = body.oneOf("kind", RoutingRuleKind.allCases.map(\.rawValue), required: creating)
            .flatMap { RoutingRuleKind(rawValue: $0) }
        switch body.raw("values") {
        case nil: break
        case .null?: input.values = []
        case .array(let items)? where items.allSatisfy({ if case .string = $0 { true } else { false } }):
            input.values = items.compactMap(\.stringValue).map { $0.trimmingCharacters(in: .whitespaces) }
        default: body.problems.add("values", "a list of strings")
        }
        switch body.raw("assign") {
        case nil: break
        case .null?: input.assign = .set(nil)
        case let value?:
            if let target = target(value) {
                input.assign = .set(target)
            } else {
                body.problems.add(
                    "assign",
                    "an object with exactly one of owner_id (a user id), round_robin (a department), queue (a name)")
            }
        }
        input.contactOwner = body.oneOf("contact_owner", ContactOwnerPolicy.allCases.map(\.rawValue))
            .flatMap { ContactOwnerPolicy(rawValue: $0) }
        input.openLead = body.bool("open_lead")
        return input
    }

    /// `{"owner_id": "<uuid>"}`, `{"round_robin": "<department>"}` or `{"queue": "<name>"}`.
    static func target(_ value: JSONValue) -> RoutingTarget? {
        guard case .object(let o) = value, o.count == 1, let entry = o.first, case .string(let s) = entry.value else {
            return nil
        }
        let key = entry.key
        let text = s.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.count <= 200 else { return nil }
        switch key {
        case "owner_id": return UUID(uuidString: text).map(RoutingTarget.owner)
        case "round_robin": return .roundRobin(text)
        case "queue": return .queue(text)
        default: return nil
        }
    }

    /// 400 listing every problem: the fields' own, then the combination's (`RoutingRuleSpec.problems`)
    /// for fields that read well.
    static func validate(_ spec: RoutingRuleSpec, _ fieldProblems: Problems) throws {
        var problems = fieldProblems
        let reported = Set(problems.items.map(\.field))
        for p in spec.problems where !reported.contains(p.field) { problems.add(p.field, p.message) }
        try problems.check()
    }

    /// A rule's owner must be an active user (422 otherwise, as for tokens).
    static func checkOwner(_ target: RoutingTarget?, on conn: PostgresConnection, logger: Logger) async throws {
        guard case .owner(let id)? = target else { return }
        guard let user = try await UserStore.get(id: id, on: conn, logger: logger) else {
            throw APIError(.unprocessableContent, "unknown_user", "assign.owner_id: no such user")
        }
        if !user.active {
            throw APIError(.unprocessableContent, "inactive_user", "assign.owner_id: the user is not active")
        }
    }

    static func conflictsAs409<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch let conflict as RoutingRuleStore.Conflict {
            throw APIError.conflict(conflict.message)
        }
    }
}
