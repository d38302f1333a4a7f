import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET /api/v1/contacts?phone=&owner_id=&q=`, `GET/PATCH /api/v1/contacts/{id}` and
/// `GET /api/v1/contacts/{id}/timeline`. Agents reach only their own contacts (others are 404).
struct ContactsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let publisher: OutboxPublisher
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("contacts") { request, _ in try await self.list(request) }
        group.get("contacts/:id") { request, context in
            let principal = try await self.auth.require(request)
            let id = try uuidParameter(context, what: "contact")
            let contact = try await self.postgres.withConnection { conn in
                try await ContactStore.get(id: id, scope: principal.scope, on: conn, logger: self.logger)
            }
            guard let contact else { throw APIError(.notFound, "not_found", "no contact with this id") }
            return try json(contact)
        }
        group.patch("contacts/:id") { request, context in
            try await self.patch(request, id: try uuidParameter(context, what: "contact"))
        }
        group.get("contacts/:id/timeline") { request, context in
            try await self.timeline(request, id: try uuidParameter(context, what: "contact"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        let principal = try await auth.require(request)
        let q = request.uri.queryParameters
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let cursor = page.keyset(&problems)
        let query = QueryParameters(request)
        var filter = ContactFilter()
        if let raw = q["phone"].map(String.init) {
            if let key = ContactMatchKey.forQuery(raw) {
                filter.matchKey = key
            } else {
                problems.add("phone", "'\(raw)' is not a valid international phone number")
            }
        }
        filter.ownerId = query.uuid("owner_id", &problems)
        filter.query = q["q"].map(String.init)
        if let text = filter.query, text.count > 200 { problems.add("q", "at most 200 characters") }
        try problems.check()
        let result = try await ContactStore.list(
            filter, scope: principal.scope, after: cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(page.page(result.items, next: result.next?.text))
    }

    static let editable: Set<String> = ["name", "owner_id", "tags", "opted_out"]

    func patch(_ request: Request, id: UUID) async throws -> Response {
        let principal = try await auth.require(request)
        var body = try await JSONBody(request, allowed: Self.editable)
        let name: ContactStore.NameChange
        switch body.change("name", nullable: true, { $0.string("name", maxLength: 200) }) {
        case .keep: name = .keep
        case .set(nil): name = .clear
        case .set(let s?): name = .set(s)
        }
        let owner = body.change("owner_id", nullable: true) { $0.uuid("owner_id") }
        if let newOwner = owner.newValue, !(try await activeUser(newOwner)) {
            body.problems.add("owner_id", "no active user with this id")
        }
        var tags: [String]?
        if let value = body.raw("tags") {
            let strings = value.arrayValue.compactMap { v -> String? in
                if case .string(let s) = v { return s.trimmingCharacters(in: .whitespaces) }
                return nil
            }
            if case .array(let a) = value, strings.count == a.count, a.count <= 50,
                strings.allSatisfy({ !$0.isEmpty && $0.count <= 64 })
            {
                var seen = Set<String>()
                tags = strings.filter { seen.insert($0).inserted }
            } else {
                body.problems.add("tags", "an array of at most 50 non-empty strings of at most 64 characters")
            }
        }
        let optedOut = body.bool("opted_out")
        try body.problems.check()
        if principal.scope != .all, owner.isSet, owner.newValue != principal.userId {
            throw APIError(.forbidden, "forbidden", "an agent cannot give a contact to another owner")
        }
        // Consent is the customer's: an agent may record an opt-out, never lift one.
        if principal.scope != .all, optedOut == false {
            throw APIError(.forbidden, "forbidden", "an agent cannot clear a customer's opt-out")
        }

        let contact = try await publisher.commit(
            actor: principal.actor, traceParent: Traces.currentTraceParent(), relayOnFailure: true
        ) { outbox in
            let conn = outbox.conn
            guard
                let before = try await ContactStore.get(
                    id: id, scope: principal.scope, on: conn, lock: true, logger: logger)
            else { throw APIError(.notFound, "not_found", "no contact with this id") }
            var after = try await ContactStore.update(
                id: id, name: name, ownerId: owner.isSet ? owner.newValue : before.ownerId, tags: tags ?? before.tags,
                on: conn,
                logger: logger)
            if let optedOut, optedOut != before.optedOut,
                let change = try await ConsentStore.record(
                    contactId: id, optedOut: optedOut, how: "api", detail: nil, wamid: nil, sourceEventId: nil,
                    actor: principal.actor, at: .now, on: conn, logger: logger)
            {
                after = try await ContactStore.get(id: id, scope: .all, on: conn, logger: logger) ?? after
                try await outbox.add(
                    optedOut ? "contact.opted_out" : "contact.opted_in", entity: "contact", id: id, contact: id,
                    version: after.version,
                    data: .object([
                        "opted_out": .bool(optedOut), "how": .string("api"),
                        "ledger_id": .number(Double(change.ledgerId)),
                    ]))
            }
            var changed: [String: JSONValue] = [:]
            if after.name != before.name || after.nameSource != before.nameSource {
                changed["name"] = after.name.map(JSONValue.string) ?? .null
            }
            if after.tags != before.tags { changed["tags"] = .array(after.tags.map(JSONValue.string)) }
            if after.ownerId != before.ownerId {
                let ownerValue = after.ownerId.map { JSONValue.string($0.uuidString) } ?? .null
                changed["owner_id"] = ownerValue
                try await outbox.add(
                    "contact.owner_changed", entity: "contact", id: id, contact: id, version: after.version,
                    data: .object([
                        "owner_id": ownerValue,
                        "previous_owner_id": before.ownerId.map { .string($0.uuidString) } ?? .null,
                    ]))
            }
            if !changed.isEmpty {
                try await outbox.add(
                    "contact.updated", entity: "contact", id: id, contact: id, version: after.version,
                    data: .object(changed))
            }
            try await AuditStore.record(
                actor: principal.actor, action: "contact.update", entity: "contact", entityId: id.uuidString,
                before: try before.json, after: try after.json, on: conn, logger: logger)
            return after
        }
        return try json(contact)
    }

    func timeline(_ request: Request, id: UUID) async throws -> Response {
        let principal = try await auth.require(request)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let offset = page.offset(&problems)
        let limit = page.limit
        try problems.check()
        let items = try await postgres.withConnection { conn in
            guard try await ContactStore.get(id: id, scope: principal.scope, on: conn, logger: logger) != nil else {
                throw APIError(.notFound, "not_found", "no contact with this id")
            }
            return try await TimelineStore.items(contactId: id, offset: offset, limit: limit, on: conn, logger: logger)
        }
        return try json(page.page(items, next: items.count == limit ? String(offset + limit) : nil))
    }

    func activeUser(_ id: UUID) async throws -> Bool {
        try await postgres.withConnection { conn in try await UserLookup.isActive(id, on: conn, logger: logger) }
    }
}
