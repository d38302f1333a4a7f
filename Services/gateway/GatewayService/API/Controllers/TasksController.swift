import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET /api/v1/tasks?contact_id=&owner_id=&status=&due_before=`, `POST /api/v1/tasks`,
/// `PATCH /api/v1/tasks/{id}` (`title, due_at, status, owner_id`). Agents see and change only
/// their own tasks, and create them only on contacts they own, for themselves. A task with a
/// `due_at` gets a reminder in the scheduler, moved or cancelled with the task.
struct TasksController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let publisher: OutboxPublisher
    let logger: Logger

    static let createFields: Set<String> = ["contact_id", "lead_id", "owner_id", "title", "due_at"]
    static let editable: Set<String> = ["title", "due_at", "status", "owner_id"]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("tasks") { request, _ in try await self.list(request) }
        group.post("tasks") { request, _ in try await self.create(request) }
        group.patch("tasks/:id") { request, context in
            try await self.patch(request, id: try uuidParameter(context, what: "task"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .readCRM)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let cursor = page.keyset(&problems)
        let query = QueryParameters(request)
        let filter = TaskFilter(
            contactId: query.uuid("contact_id", &problems), ownerId: query.uuid("owner_id", &problems),
            status: query.oneOf("status", TaskStore.statuses, &problems),
            dueBefore: query.date("due_before", &problems))
        try problems.check()
        let result = try await TaskStore.list(
            filter, scope: access.principal.scope, after: cursor, limit: page.limit, on: postgres, logger: logger)
        return try json(page.page(result.items, next: result.next?.text))
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .writeCRM)
        let principal = access.principal
        var body = try await JSONBody(request, allowed: Self.createFields)
        let contactId = body.uuid("contact_id", required: true)
        let leadId = body.uuid("lead_id")
        let ownerId = body.uuid("owner_id")
        let title = body.string("title", required: true, maxLength: 200)
        let dueAt = body.date("due_at")
        try body.problems.check()
        guard let contactId, let title else { throw APIError.validation(body.problems.items) }
        if principal.scope != .all, let ownerId, ownerId != principal.userId {
            throw APIError.forbidden("an agent creates tasks only for themselves")
        }
        let task = try await publisher.commit(
            actor: access.actor, traceParent: Traces.currentTraceParent(), relayOnFailure: true
        ) { outbox in
            let conn = outbox.conn
            var problems = Problems()
            // An agent's task is on a contact they own (others are not found, as in GET).
            guard
                let contact = try await ContactStore.get(
                    id: contactId, scope: principal.scope, on: conn, logger: logger)
            else { throw APIError.notFound("no contact with this id") }
            if let leadId {
                let lead = try await LeadStore.get(id: leadId, scope: .all, lock: false, on: conn, logger: logger)
                if lead?.contactId != contact.id { problems.add("lead_id", "no lead of this contact with this id") }
            }
            let owner = ownerId ?? (principal.scope == .all ? contact.ownerId : principal.userId)
            if let owner, !(try await UserLookup.isActive(owner, on: conn, logger: logger)) {
                problems.add("owner_id", "no active user with this id")
            }
            try problems.check()
            guard
                let task = try await TaskStore.create(
                    NewTask(
                        contactId: contact.id, leadId: leadId, ownerId: owner, title: title, dueAt: dueAt,
                        createdBy: access.actor), on: conn, logger: logger)
            else { throw StorageError.invalid("task not created") }
            try await outbox.add(
                "task.created", entity: "task", id: task.id, contact: task.contactId, version: task.version,
                data: ["task": try task.json])
            try await AuditStore.record(
                actor: access.actor, action: "task.create", entity: "task", entityId: task.id.uuidString,
                before: nil, after: try task.json, on: conn, logger: logger)
            return task
        }
        return try json(task, status: .created)
    }

    func patch(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .writeCRM)
        let principal = access.principal
        var body = try await JSONBody(request, allowed: Self.editable)
        let title = body.change("title", nullable: false) { $0.string("title", maxLength: 200) }
        let dueAt = body.change("due_at", nullable: true) { $0.date("due_at") }
        let status = body.change("status", nullable: false) { $0.oneOf("status", TaskStore.statuses) }
        let owner = body.change("owner_id", nullable: true) { $0.uuid("owner_id") }
        if let newOwner = owner.newValue,
            !(try await postgres.withConnection { try await UserLookup.isActive(newOwner, on: $0, logger: logger) })
        {
            body.problems.add("owner_id", "no active user with this id")
        }
        try body.problems.check()
        if principal.scope != .all, owner.isSet, owner.newValue != principal.userId {
            throw APIError.forbidden("an agent cannot give a task to another owner")
        }

        let task = try await publisher.commit(
            actor: access.actor, traceParent: Traces.currentTraceParent(), relayOnFailure: true
        ) { outbox in
            let conn = outbox.conn
            guard
                let before = try await TaskStore.get(
                    id: id, scope: principal.scope, lock: true, on: conn, logger: logger)
            else { throw APIError.notFound("no task with this id") }
            let after = try await TaskStore.update(
                id: id, title: title.isSet ? title.newValue ?? before.title : before.title,
                dueAt: dueAt.isSet ? dueAt.newValue : before.dueAt,
                status: status.isSet ? status.newValue ?? before.status : before.status,
                ownerId: owner.isSet ? owner.newValue : before.ownerId, on: conn, logger: logger)
            var changed: [String: JSONValue] = [:]
            let afterJSON = try after.json
            let beforeJSON = try before.json
            for field in ["title", "due_at", "status", "owner_id"] where afterJSON[field] != beforeJSON[field] {
                changed[field] = afterJSON[field] ?? .null
            }
            if !changed.isEmpty {
                let kind =
                    after.status != before.status
                    ? (after.status == "done"
                        ? "task.completed" : after.status == "cancelled" ? "task.cancelled" : "task.reopened")
                    : "task.updated"
                try await outbox.add(
                    kind, entity: "task", id: id, contact: after.contactId, version: after.version,
                    data: .object(changed))
            }
            try await AuditStore.record(
                actor: access.actor, action: "task.update", entity: "task", entityId: id.uuidString,
                before: beforeJSON, after: afterJSON, on: conn, logger: logger)
            return after
        }
        return try json(task)
    }
}
