import Crypto
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage
import WireModels

/// `GET/POST /api/v1/outbound-webhooks`, `PATCH /api/v1/outbound-webhooks/{id}`,
/// `GET /api/v1/outbound-webhooks/{id}/deliveries`. Endpoints are integration settings:
/// admins change them, managers may look. The signing secret is write-only; when the client
/// sends none, one is generated and shown once in the 201 answer.
struct OutboundWebhooksController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("outbound-webhooks") { request, _ in try await self.list(request) }
        group.post("outbound-webhooks") { request, _ in try await self.create(request) }
        group.patch("outbound-webhooks/:id") { request, context in
            try await self.update(request, id: try context.parameters.require("id"))
        }
        group.get("outbound-webhooks/:id/deliveries") { request, context in
            try await self.deliveries(request, id: try context.parameters.require("id"))
        }
    }

    static let fields: Set<String> = ["url", "events", "secret", "active", "description"]

    /// The validated fields of a create or patch body (nil = not given).
    struct Input {
        var url: String?
        var events: [String]?
        var secret: String?
        var active: Bool?
        var description: String?
    }

    func create(_ request: Request) async throws -> Response {
        let principal = try await requireRole(request, ["admin"])
        let input = try await parse(request, creating: true)
        let generated = input.secret == nil
        let secret = input.secret ?? Self.newSecret()
        let row = try await postgres.withTransaction(logger: logger) { conn in
            let row = try await OutboundWebhookStore.create(
                url: input.url!, events: input.events!, secret: secret, active: input.active ?? true,
                description: input.description, createdBy: principal.userId.uuidString, on: conn, logger: logger)
            try await AuditStore.record(
                actor: principal.userId.uuidString, action: "create", entity: "outbound_webhook",
                entityId: row.id.uuidString, before: nil, after: try JSONValue(encoding: row), on: conn, logger: logger)
            return row
        }
        var answer = try JSONValue(encoding: row)
        if generated, case .object(var o) = answer {
            o["secret"] = .string(secret)  // shown once, never again
            answer = .object(o)
        }
        return try json(answer, status: .created)
    }

    func update(_ request: Request, id raw: String) async throws -> Response {
        let principal = try await requireRole(request, ["admin"])
        let id = try Self.uuid(raw)
        let input = try await parse(request, creating: false)
        let changed = try await postgres.withTransaction(logger: logger) { conn in
            guard
                let change = try await OutboundWebhookStore.update(
                    id: id, url: input.url, events: input.events, secret: input.secret, active: input.active,
                    description: input.description, on: conn, logger: logger)
            else { return OutboundWebhookRow?.none }
            var after = try JSONValue(encoding: change.after)
            if input.secret != nil, case .object(var o) = after {
                o["secret_changed"] = .bool(true)  // the audit log says it changed, never what to
                after = .object(o)
            }
            try await AuditStore.record(
                actor: principal.userId.uuidString, action: "update", entity: "outbound_webhook",
                entityId: id.uuidString, before: try JSONValue(encoding: change.before), after: after, on: conn,
                logger: logger)
            return change.after
        }
        guard let changed else { throw APIError(.notFound, "not_found", "no outbound webhook \(raw)") }
        return try json(changed)
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await requireRole(request, ["admin", "manager"])
        var problems: [String] = []
        let page = ListPage(request, problems: &problems, cursor: { KeysetCursor($0) })
        guard problems.isEmpty else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        let (rows, last) = try await OutboundWebhookStore.list(
            after: page.cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(Page(items: rows, nextCursor: rows.count == page.limit ? last?.text : nil))
    }

    func deliveries(_ request: Request, id raw: String) async throws -> Response {
        _ = try await requireRole(request, ["admin", "manager"])
        let id = try Self.uuid(raw)
        var problems: [String] = []
        let page = ListPage(request, problems: &problems, cursor: { Int64($0) })
        let state = request.uri.queryParameters["state"].map(String.init)
        let states = ["pending", "delivering", "retrying", "delivered", "failed"]
        if let state, !states.contains(state) { problems.append("state: one of \(states.joined(separator: ", "))") }
        guard problems.isEmpty else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        guard try await OutboundWebhookStore.get(id: id, on: postgres, logger: logger) != nil else {
            throw APIError(.notFound, "not_found", "no outbound webhook \(raw)")
        }
        let rows = try await WebhookDeliveryStore.list(
            webhookId: id, state: state, before: page.cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(Page(items: rows, nextCursor: rows.count == page.limit ? rows.last.map { String($0.id) } : nil))
    }

    // MARK: - Input

    func parse(_ request: Request, creating: Bool) async throws -> Input {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        guard case .object(let body) = try? JSONParser.parse(Array(buffer: buffer)) else {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object")
        }
        var problems = body.keys.filter { !Self.fields.contains($0) }.sorted().map { "\($0): unknown field" }
        var input = Input()
        if let v = body["url"] {
            if let s = v.stringValue, let url = URL(string: s), ["http", "https"].contains(url.scheme?.lowercased()),
                url.host?.isEmpty == false, url.user == nil
            {
                input.url = s
            } else {
                problems.append("url: an absolute http(s) URL without credentials")
            }
        } else if creating {
            problems.append("url: required")
        }
        if let v = body["events"] {
            let names = v.arrayValue.compactMap(\.stringValue)
            if case .array(let items) = v, !items.isEmpty, names.count == items.count,
                names.allSatisfy(Self.isEventPattern)
            {
                input.events = names
            } else {
                problems.append("events: a non-empty list of activity kinds (lead.opened), entity.* or *")
            }
        } else if creating {
            problems.append("events: required")
        }
        if let v = body["secret"] {
            if let s = v.stringValue, s.utf8.count >= 16, s.utf8.count <= 256 {
                input.secret = s
            } else {
                problems.append("secret: 16 to 256 characters")
            }
        }
        if let v = body["active"] {
            if case .bool(let b) = v { input.active = b } else { problems.append("active: true or false") }
        }
        if let v = body["description"] {
            if let s = v.stringValue, s.utf8.count <= 500 {
                input.description = s
            } else {
                problems.append("description: text up to 500 bytes")
            }
        }
        guard problems.isEmpty else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        return input
    }

    /// `*`, `lead.*` or `lead.opened` (lowercase words, dots and underscores).
    static func isEventPattern(_ s: String) -> Bool {
        if s == "*" { return true }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let word: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0 == "_" || $0.isNumber } }
        return word(parts[0]) && (parts[1] == "*" || word(parts[1]))
    }

    static func newSecret() -> String {
        Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).hexString
    }

    static func uuid(_ raw: String) throws -> UUID {
        guard let id = UUID(uuidString: raw) else {
            throw APIError(.notFound, "not_found", "no outbound webhook \(raw)")
        }
        return id
    }

    func requireRole(_ request: Request, _ roles: Set<String>) async throws -> Principal {
        let principal = try await auth.require(request)
        guard roles.contains(principal.role) else {
            throw APIError(.forbidden, "forbidden", "the \(principal.role) role may not do this")
        }
        return principal
    }
}

extension JSONValue {
    /// The JSON form of an API model, for the audit log.
    init(encoding value: some Encodable) throws {
        self = try JSONParser.parse(Array(try JSONCoding.encoder().encode(value)))
    }
}
