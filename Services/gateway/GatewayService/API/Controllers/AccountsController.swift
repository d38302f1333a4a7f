import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET/POST /api/v1/accounts`, `GET/PATCH /api/v1/accounts/{id}`. `access_token`,
/// `app_secret` and `verify_token` are write-only: stored encrypted (CRM_SECRET_KEY), answered
/// only as `*_set` flags, recorded in the audit log the same way.
struct AccountsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let secrets: SecretBox?
    let logger: Logger

    static let secretFields = ["access_token", "app_secret", "verify_token"]
    static let fields: Set<String> = Set(["waba_id", "name"] + secretFields)

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("accounts") { request, _ in try await self.list(request) }
        group.post("accounts") { request, _ in try await self.create(request) }
        group.get("accounts/:id") { request, context in
            _ = try await self.auth.access(request, .readAccounts)
            let id = try uuidParameter(context, what: "account")
            let row = try await self.postgres.withConnection { conn in
                try await AccountStore.get(id: id, on: conn, logger: self.logger)
            }
            guard let row else { throw APIError.notFound("no account \(id.uuidString.lowercased())") }
            return try json(row)
        }
        group.patch("accounts/:id") { request, context in
            try await self.update(request, id: try uuidParameter(context, what: "account"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readAccounts)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.uuid(&problems)
        try problems.check()
        return try json(
            list.page(try await AccountStore.list(page: page, on: postgres, logger: logger)) { $0.id.uuidString })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .writeAccounts)
        var body = try await JSONBody(request, allowed: Self.fields)
        let wabaId = body.string("waba_id", required: true, maxLength: 64)
        let name = body.string("name", required: true)
        let sealed = try seal(&body)
        try body.problems.check()
        guard let wabaId, let name else { throw APIError.validation(body.problems.items) }
        let row = try await postgres.transaction(logger: logger) { conn -> AccountRow in
            guard
                let row = try await AccountStore.create(
                    wabaId: wabaId, name: name, secrets: sealed, on: conn, logger: logger)
            else { throw APIError.conflict("an account with this waba_id exists already") }
            try await AuditStore.record(
                actor: access.userId, action: "create", entity: "account", entityId: row.id.uuidString.lowercased(),
                before: AccountRow?.none, after: row, on: conn, logger: logger)
            return row
        }
        return try json(row, status: .created)
    }

    func update(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .writeAccounts)
        var body = try await JSONBody(request, allowed: Self.fields)
        let wabaId = body.change("waba_id", nullable: false) { $0.string("waba_id", maxLength: 64) }
        let name = body.change("name", nullable: false) { $0.string("name") }
        let sealed = try seal(&body)
        try body.problems.check()
        let row = try await postgres.transaction(logger: logger) { conn -> AccountRow in
            guard let before = try await AccountStore.get(id: id, on: conn, logger: logger) else {
                throw APIError.notFound("no account \(id.uuidString.lowercased())")
            }
            if let w = wabaId.newValue, try await AccountStore.wabaTaken(w, except: id, on: conn, logger: logger) {
                throw APIError.conflict("an account with this waba_id exists already")
            }
            guard
                let after = try await AccountStore.update(
                    id: id, wabaId: wabaId, name: name, secrets: sealed, on: conn, logger: logger)
            else { throw APIError.notFound("no account \(id.uuidString.lowercased())") }
            try await AuditStore.record(
                actor: access.userId, action: "update", entity: "account", entityId: id.uuidString.lowercased(),
                before: before, after: after, on: conn, logger: logger)
            return after
        }
        return try json(row)
    }

    /// Reads the secret fields (null clears one), to be sealed by the store for the account's
    /// row; 422 when a secret is given but the gateway has no key to encrypt it with.
    private func seal(_ body: inout JSONBody) throws -> AccountSecretChanges {
        func read(_ key: String) -> Change<String> {
            body.change(key, nullable: true) { $0.string(key, maxLength: 2000) }
        }
        var out = AccountSecretChanges(box: secrets)
        out.accessToken = read("access_token")
        out.appSecret = read("app_secret")
        out.verifyToken = read("verify_token")
        let needsKey = [out.accessToken, out.appSecret, out.verifyToken].contains { $0.newValue != nil }
        guard !needsKey || secrets != nil else {
            throw APIError(
                .unprocessableContent, "secret_key_missing",
                "the gateway has no CRM_SECRET_KEY, so secrets cannot be stored encrypted")
        }
        return out
    }
}
