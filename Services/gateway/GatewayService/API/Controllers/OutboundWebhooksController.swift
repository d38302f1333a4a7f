import Crypto
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET/POST /api/v1/outbound-webhooks`, `PATCH /api/v1/outbound-webhooks/{id}`,
/// `GET /api/v1/outbound-webhooks/{id}/deliveries`. Endpoints are integration settings:
/// admins change them, managers may look. The signing secret is write-only; when the client
/// sends none, one is generated and shown once in the 201 answer.
struct OutboundWebhooksController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    /// No hooks into this host, private networks or cluster names (docs/SECURITY.md).
    let destinations: DestinationPolicy
    /// Seals signing secrets at rest (`CRM_SECRET_KEY`); without it endpoints cannot be saved.
    let secrets: SecretBox?
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
        let access = try await auth.access(request, .writeIntegrations)
        let input = try await parse(request, creating: true)
        let box = try requireKey()
        let generated = input.secret == nil
        let secret = input.secret ?? Self.newSecret()
        let row = try await postgres.transaction(logger: logger) { conn in
            let row = try await OutboundWebhookStore.create(
                url: input.url!, events: input.events!, secret: secret, box: box, active: input.active ?? true,
                description: input.description, createdBy: access.actor, on: conn, logger: logger)
            try await AuditStore.record(
                actor: access.actor, action: "create", entity: "outbound_webhook",
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
        let access = try await auth.access(request, .writeIntegrations)
        let id = try Self.uuid(raw)
        let input = try await parse(request, creating: false)
        if input.secret != nil { _ = try requireKey() }
        let changed = try await postgres.transaction(logger: logger) { conn in
            guard
                let change = try await OutboundWebhookStore.update(
                    id: id, url: input.url, events: input.events, secret: input.secret, box: secrets,
                    active: input.active,
                    description: input.description, on: conn, logger: logger)
            else { return OutboundWebhookRow?.none }
            var after = try JSONValue(encoding: change.after)
            if input.secret != nil, case .object(var o) = after {
                o["secret_changed"] = .bool(true)  // the audit log says it changed, never what to
                after = .object(o)
            }
            try await AuditStore.record(
                actor: access.actor, action: "update", entity: "outbound_webhook",
                entityId: id.uuidString, before: try JSONValue(encoding: change.before), after: after, on: conn,
                logger: logger)
            return change.after
        }
        guard let changed else { throw APIError(.notFound, "not_found", "no outbound webhook \(raw)") }
        return try json(changed)
    }

    /// 422 when the gateway cannot encrypt a signing secret (as for account secrets).
    func requireKey() throws -> SecretBox {
        guard let secrets else {
            throw APIError(
                .unprocessableContent, "secret_key_missing",
                "the gateway has no CRM_SECRET_KEY, so a signing secret cannot be stored encrypted")
        }
        return secrets
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readIntegrations)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let cursor = page.keyset(&problems)
        try problems.check()
        let (rows, last) = try await OutboundWebhookStore.list(
            after: cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(page.page(rows) { _ in last?.text ?? "" })
    }

    func deliveries(_ request: Request, id raw: String) async throws -> Response {
        _ = try await auth.access(request, .readIntegrations)
        let id = try Self.uuid(raw)
        var problems = Problems()
        let page = ListPage(request, problems: &problems).int64(&problems)
        let state = QueryParameters(request).oneOf(
            "state", ["pending", "delivering", "retrying", "delivered", "failed"], &problems)
        try problems.check()
        guard try await OutboundWebhookStore.get(id: id, on: postgres, logger: logger) != nil else {
            throw APIError.notFound("no outbound webhook \(raw)")
        }
        let rows = try await WebhookDeliveryStore.list(
            webhookId: id, state: state, before: page.after, limit: page.limit, on: postgres, logger: logger)
        return try json(ListPage(request, problems: &problems).page(rows) { String($0.id) })
    }

    // MARK: - Input

    func parse(_ request: Request, creating: Bool) async throws -> Input {
        var body = try await JSONBody(request, allowed: Self.fields)
        var input = Input()
        input.url = body.string("url", required: creating, maxLength: 2000)
        if let url = input.url.flatMap(URL.init(string:)),
            !["http", "https"].contains(url.scheme?.lowercased()) || url.host?.isEmpty != false || url.user != nil
        {
            body.problems.add("url", "an absolute http(s) URL without credentials")
            input.url = nil
        } else if let host = input.url.flatMap(URL.init(string:))?.host,
            case .refused(let why) = await destinations.checkResolving(host: host)
        {
            body.problems.add(
                "url", "\(why): not a destination for webhooks (an operator may allow it: OUTBOUND_WEBHOOK_ALLOW)")
            input.url = nil
        }
        input.events = body.strings(
            "events", required: creating, valid: Self.isEventPattern,
            expected: "a non-empty list of activity kinds (lead.opened), entity.* or *")
        input.secret = body.string("secret", maxLength: 256)
        if let secret = input.secret, secret.utf8.count < 16 { body.problems.add("secret", "at least 16 characters") }
        input.active = body.bool("active")
        input.description = body.string("description", maxLength: 500)
        try body.problems.check()
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
        guard let id = UUID(uuidString: raw) else { throw APIError.notFound("no outbound webhook \(raw)") }
        return id
    }
}
