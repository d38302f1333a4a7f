import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET/POST /api/v1/phone-numbers`, `PATCH /api/v1/phone-numbers/{id}`: the business numbers,
/// their account, rate (`messages_per_second`, read by the sender's governor), tier and
/// department.
struct PhoneNumbersController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    static let fields: Set<String> = [
        "phone_number_id", "display_phone_number", "account_id", "messages_per_second", "tier", "department",
    ]

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("phone-numbers") { request, _ in try await self.list(request) }
        group.post("phone-numbers") { request, _ in try await self.create(request) }
        group.patch("phone-numbers/:id") { request, context in
            try await self.update(request, id: try uuidParameter(context, what: "phone number"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readAccounts)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.uuid(&problems)
        let accountId = QueryParameters(request).uuid("account_id", &problems)
        try problems.check()
        let rows = try await PhoneNumberStore.list(accountId: accountId, page: page, on: postgres, logger: logger)
        return try json(list.page(rows) { $0.id.uuidString })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .writeAccounts)
        var body = try await JSONBody(request, allowed: Self.fields)
        var f = read(&body)
        if !f.phoneNumberId.isSet { body.problems.add("phone_number_id", "required") }
        if !f.accountId.isSet { body.problems.add("account_id", "required") }
        if case .set(nil) = f.displayPhoneNumber { f.displayPhoneNumber = .keep }
        try body.problems.check()
        let fields = f
        let row = try await postgres.transaction(logger: logger) { conn -> PhoneNumberRow in
            try await requireAccount(fields.accountId, on: conn)
            guard let row = try await PhoneNumberStore.create(fields, on: conn, logger: logger) else {
                throw APIError.conflict("a phone number with this phone_number_id exists already")
            }
            try await AuditStore.record(
                actor: access.userId, action: "create", entity: "phone_number",
                entityId: row.id.uuidString.lowercased(),
                before: PhoneNumberRow?.none, after: row, on: conn, logger: logger)
            return row
        }
        return try json(row, status: .created)
    }

    func update(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .writeAccounts)
        var body = try await JSONBody(request, allowed: Self.fields)
        let f = read(&body)
        try body.problems.check()
        let row = try await postgres.transaction(logger: logger) { conn -> PhoneNumberRow in
            guard let before = try await PhoneNumberStore.get(id: id, on: conn, logger: logger) else {
                throw APIError.notFound("no phone number \(id.uuidString.lowercased())")
            }
            try await requireAccount(f.accountId, on: conn)
            if let pnid = f.phoneNumberId.newValue,
                try await PhoneNumberStore.idTaken(pnid, except: id, on: conn, logger: logger)
            {
                throw APIError.conflict("a phone number with this phone_number_id exists already")
            }
            guard let after = try await PhoneNumberStore.update(id: id, f, on: conn, logger: logger) else {
                throw APIError.notFound("no phone number \(id.uuidString.lowercased())")
            }
            try await AuditStore.record(
                actor: access.userId, action: "update", entity: "phone_number", entityId: id.uuidString.lowercased(),
                before: before, after: after, on: conn, logger: logger)
            return after
        }
        return try json(row)
    }

    private func read(_ body: inout JSONBody) -> PhoneNumberFields {
        var f = PhoneNumberFields()
        f.phoneNumberId = body.change("phone_number_id", nullable: false) { b in
            guard let s = b.string("phone_number_id", maxLength: 64) else { return nil }
            guard s.allSatisfy(\.isNumber) else {
                b.problems.add("phone_number_id", "Meta's numeric phone number id")
                return nil
            }
            return s
        }
        f.displayPhoneNumber = body.change("display_phone_number", nullable: true) {
            $0.string("display_phone_number", maxLength: 40)
        }
        f.accountId = body.change("account_id", nullable: false) { $0.uuid("account_id") }
        f.messagesPerSecond = body.change("messages_per_second", nullable: false) {
            $0.int("messages_per_second", range: 1...1000)
        }
        f.tier = body.change("tier", nullable: false) { $0.oneOf("tier", PhoneNumberRow.tiers) }
        f.department = body.change("department", nullable: true) { $0.string("department") }
        return f
    }

    private func requireAccount(_ accountId: Change<UUID>, on conn: PostgresConnection) async throws {
        if let id = accountId.newValue, try await !AccountStore.exists(id: id, on: conn, logger: logger) {
            throw APIError(.unprocessableContent, "unknown_account", "account_id: no such account")
        }
    }
}
