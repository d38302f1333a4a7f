import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET/POST /api/v1/users`, `PATCH /api/v1/users/{id}`: admins manage users; managers may
/// list them (to assign owners); agents may not.
struct UsersController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    static let fields: Set<String> = ["name", "email", "role", "department", "active"]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("users") { request, _ in try await self.list(request) }
        group.post("users") { request, _ in try await self.create(request) }
        group.patch("users/:id") { request, context in
            try await self.update(request, id: try uuidParameter(context, what: "user"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readUsers)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.uuid(&problems)
        try problems.check()
        let rows = try await UserStore.list(page: page, on: postgres, logger: logger)
        return try json(list.page(rows) { $0.id.uuidString })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .writeUsers)
        var body = try await JSONBody(request, allowed: Self.fields)
        let name = body.string("name", required: true)
        let email = body.string("email").map { $0.lowercased() }
        if let email, !Self.looksLikeEmail(email) { body.problems.add("email", "an email address") }
        let role = body.oneOf("role", Role.allCases.map(\.rawValue), required: true)
        let department = body.string("department")
        let active = body.bool("active") ?? true
        try body.problems.check()
        guard let name, let role else { throw APIError.validation(body.problems.items) }
        let user = try await postgres.transaction(logger: logger) { conn -> UserRow in
            guard
                let user = try await UserStore.create(
                    name: name, email: email, role: role, department: department, active: active, on: conn,
                    logger: logger)
            else { throw APIError.conflict("a user with this email exists already") }
            try await AuditStore.record(
                actor: access.userId, action: "create", entity: "user", entityId: user.id.uuidString.lowercased(),
                before: UserRow?.none, after: user, on: conn, logger: logger)
            return user
        }
        return try json(user, status: .created)
    }

    func update(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .writeUsers)
        var body = try await JSONBody(request, allowed: Self.fields)
        var changes = UserChanges()
        changes.name = body.change("name", nullable: false) { $0.string("name") }
        changes.email = body.change("email", nullable: true) { b in
            guard let e = b.string("email")?.lowercased() else { return nil }
            if !Self.looksLikeEmail(e) { b.problems.add("email", "an email address") }
            return e
        }
        changes.role = body.change("role", nullable: false) { $0.oneOf("role", Role.allCases.map(\.rawValue)) }
        changes.department = body.change("department", nullable: true) { $0.string("department") }
        changes.active = body.change("active", nullable: false) { $0.bool("active") }
        try body.problems.check()
        let user = try await postgres.transaction(logger: logger) { conn -> UserRow in
            guard let before = try await UserStore.get(id: id, on: conn, logger: logger) else {
                throw APIError.notFound("no user \(id.uuidString.lowercased())")
            }
            if let email = changes.email.newValue,
                try await UserStore.emailTaken(email, except: id, on: conn, logger: logger)
            {
                throw APIError.conflict("a user with this email exists already")
            }
            guard let after = try await UserStore.update(id: id, changes, on: conn, logger: logger) else {
                throw APIError.notFound("no user \(id.uuidString.lowercased())")
            }
            if try await UserStore.activeAdminCount(on: conn, logger: logger) == 0 {
                throw APIError.conflict("this change would leave no active admin")
            }
            try await AuditStore.record(
                actor: access.userId, action: "update", entity: "user", entityId: id.uuidString.lowercased(),
                before: before, after: after, on: conn, logger: logger)
            return after
        }
        return try json(user)
    }

    static func looksLikeEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !s.contains(" ")
    }
}
