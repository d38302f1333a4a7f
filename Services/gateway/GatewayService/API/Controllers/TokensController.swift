import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage
import WireModels

/// `POST /api/v1/tokens` → 201 `{id, user_id, token}` (the token is shown only here; stored
/// hashed), `DELETE /api/v1/tokens/{id}` (revoke) and `GET /api/v1/tokens?user_id=` (the
/// tokens' metadata, to find one to revoke). Everyone may create and revoke their
/// own tokens; only admins may do so for another user (for anyone else such a token is
/// out of scope: 403 to create, 404 to revoke). A token never outlives the token that made
/// it, and revoking a token revokes every token made with it.
struct TokensController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    static let fields: Set<String> = ["user_id", "name", "expires_at"]

    /// The creation answer: the only place the clear token ever appears.
    struct Created: Encodable {
        var token: TokenRow
        var secret: String
        func encode(to encoder: any Encoder) throws {
            try token.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(secret, forKey: .token)
        }
        enum Key: String, CodingKey { case token }
    }

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("tokens") { request, _ in try await self.list(request) }
        group.post("tokens") { request, _ in try await self.create(request) }
        group.delete("tokens/:id") { request, context in
            try await self.revoke(request, id: try uuidParameter(context, what: "token"))
        }
    }

    /// The caller's own tokens; an admin may ask for anyone's (`user_id`) or, with `all=true`, everyone's.
    func list(_ request: Request) async throws -> Response {
        let access = try Access(principal: try await auth.require(request))
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.uuid(&problems)
        let q = QueryParameters(request)
        let userId = q.uuid("user_id", &problems)
        let all = q.oneOf("all", ["true", "false"], &problems) == "true"
        try problems.check()
        let owner: UUID? = all ? nil : (userId ?? access.userId)
        if owner != access.userId { try access.require(.manageOthersTokens) }
        let rows = try await TokenStore.list(userId: owner, page: page, on: postgres, logger: logger)
        return try json(list.page(rows) { $0.id.uuidString })
    }

    func create(_ request: Request) async throws -> Response {
        let access = try Access(principal: try await auth.require(request))
        var body = try await JSONBody(request, allowed: Self.fields)
        let userId = body.uuid("user_id") ?? access.userId
        let name = body.string("name", required: true)
        var expiresAt = body.date("expires_at")
        if let expiresAt, expiresAt <= Date() { body.problems.add("expires_at", "must be in the future") }
        // A token cannot outlive the token that makes it: without expires_at it expires with it.
        let minter = try await postgres.withConnection { conn in
            try await TokenStore.get(id: access.principal.tokenId, on: conn, logger: logger)
        }
        if let limit = minter?.expiresAt {
            if let wanted = expiresAt, wanted > limit {
                body.problems.add(
                    "expires_at", "at most \(RFC3339.string(from: limit)), when the token making it expires")
            }
            expiresAt = min(expiresAt ?? limit, limit)
        }
        try body.problems.check()
        guard let name else { throw APIError.validation(body.problems.items) }
        if userId != access.userId { try access.require(.manageOthersTokens) }
        let created = try await postgres.transaction(logger: logger) { conn in
            guard let user = try await UserStore.get(id: userId, on: conn, logger: logger) else {
                throw APIError(.unprocessableContent, "unknown_user", "user_id: no such user")
            }
            guard user.active else {
                throw APIError(.unprocessableContent, "inactive_user", "user_id: the user is not active")
            }
            let (row, token) = try await TokenStore.create(
                userId: userId, name: name, expiresAt: expiresAt, createdBy: access.userId,
                mintedBy: access.principal.tokenId, on: conn, logger: logger)
            try await AuditStore.record(
                actor: access.userId, action: "create", entity: "token", entityId: row.id.uuidString.lowercased(),
                before: TokenRow?.none, after: row, on: conn, logger: logger)
            return Created(token: row, secret: token)
        }
        return try json(created, status: .created)
    }

    func revoke(_ request: Request, id: UUID) async throws -> Response {
        let access = try Access(principal: try await auth.require(request))
        try await postgres.transaction(logger: logger) { conn in
            guard let before = try await TokenStore.get(id: id, on: conn, logger: logger),
                before.userId == access.userId || access.can(.manageOthersTokens)
            else { throw APIError.notFound("no token \(id.uuidString.lowercased())") }
            guard let (after, descendants) = try await TokenStore.revoke(id: id, on: conn, logger: logger) else {
                throw APIError.notFound("no token \(id.uuidString.lowercased())")
            }
            try await AuditStore.record(
                actor: access.userId, action: "revoke", entity: "token", entityId: id.uuidString.lowercased(),
                before: before, after: after, on: conn, logger: logger)
            // Tokens minted through it go with it, each audited as revoked by this request.
            for token in descendants {
                var earlier = token
                earlier.revokedAt = nil
                try await AuditStore.record(
                    actor: access.userId, action: "revoke", entity: "token",
                    entityId: token.id.uuidString.lowercased(), before: earlier, after: token, on: conn,
                    logger: logger)
            }
        }
        return Response(status: .noContent)
    }
}
