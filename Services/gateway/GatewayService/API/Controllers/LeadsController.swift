import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET /api/v1/leads?contact_id=&status=&owner_id=` and `PATCH /api/v1/leads/{id}`
/// (`status, stage, owner_id`). Agents reach only the leads they own (others are 404).
struct LeadsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let publisher: OutboxPublisher
    let logger: Logger

    static let statuses = ["open", "won", "lost"]
    static let editable: Set<String> = ["status", "stage", "owner_id"]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("leads") { request, _ in try await self.list(request) }
        group.get("leads/:id") { request, context in
            let principal = try await self.auth.require(request)
            let id = try uuidParameter(context, what: "lead")
            let lead = try await self.postgres.withConnection { conn in
                try await LeadStore.get(id: id, scope: principal.scope, lock: false, on: conn, logger: self.logger)
            }
            guard let lead else { throw APIError(.notFound, "not_found", "no lead with this id") }
            return try json(lead)
        }
        group.patch("leads/:id") { request, context in
            try await self.patch(request, id: try uuidParameter(context, what: "lead"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        let principal = try await auth.require(request)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let cursor = page.keyset(&problems)
        let query = QueryParameters(request)
        var filter = LeadFilter()
        filter.contactId = query.uuid("contact_id", &problems)
        filter.ownerId = query.uuid("owner_id", &problems)
        filter.status = query.oneOf("status", Self.statuses, &problems)
        try problems.check()
        let result = try await LeadStore.list(
            filter, scope: principal.scope, after: cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(Page(items: result.items, nextCursor: result.next?.text))
    }

    func patch(_ request: Request, id: UUID) async throws -> Response {
        let principal = try await auth.require(request)
        var body = try await JSONBody(request, allowed: Self.editable)
        let status = body.change("status", nullable: false) { $0.oneOf("status", Self.statuses) }.newValue
        let stage = body.change("stage", nullable: false) { $0.string("stage", maxLength: 64) }.newValue
        let owner = body.change("owner_id", nullable: true) { $0.uuid("owner_id") }
        if let newOwner = owner.newValue, !(try await activeUser(newOwner)) {
            body.problems.add("owner_id", "no active user with this id")
        }
        try body.problems.check()
        if principal.scope != .all, owner.isSet, owner.newValue != principal.userId {
            throw APIError(.forbidden, "forbidden", "an agent cannot give a lead to another owner")
        }

        let lead = try await publisher.commit(
            actor: principal.actor, traceParent: Traces.currentTraceParent(), relayOnFailure: true
        ) { outbox in
            let conn = outbox.conn
            guard
                let before = try await LeadStore.get(
                    id: id, scope: principal.scope, lock: true, on: conn, logger: logger)
            else { throw APIError(.notFound, "not_found", "no lead with this id") }
            let after: LeadRow
            do {
                after = try await LeadStore.update(
                    id: id, status: status ?? before.status, stage: stage ?? before.stage,
                    ownerId: owner.isSet ? owner.newValue : before.ownerId, on: conn, logger: logger)
            } catch is LeadStore.AnotherLeadIsOpen {
                throw APIError(.conflict, "lead_already_open", "the contact has another open lead")
            }
            func add(_ kind: String, _ data: [String: JSONValue]) async throws {
                try await outbox.add(
                    kind, entity: "lead", id: id, contact: after.contactId, version: after.version, data: .object(data))
            }
            if after.status != before.status {
                try await add(
                    after.status == "open" ? "lead.reopened" : "lead.closed",
                    ["status": .string(after.status), "previous_status": .string(before.status)])
            }
            if after.ownerId != before.ownerId {
                try await add(
                    "lead.owner_changed",
                    [
                        "owner_id": after.ownerId.map { .string($0.uuidString) } ?? .null,
                        "previous_owner_id": before.ownerId.map { .string($0.uuidString) } ?? .null,
                    ])
            }
            if after.stage != before.stage {
                try await add(
                    "lead.stage_changed", ["stage": .string(after.stage), "previous_stage": .string(before.stage)])
            }
            try await AuditStore.record(
                actor: principal.actor, action: "lead.update", entity: "lead", entityId: id.uuidString,
                before: try before.json, after: try after.json, on: conn, logger: logger)
            return after
        }
        return try json(lead)
    }

    func activeUser(_ id: UUID) async throws -> Bool {
        try await postgres.withConnection { conn in try await UserLookup.isActive(id, on: conn, logger: logger) }
    }
}
