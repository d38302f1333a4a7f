import Foundation
import PostgresNIO
import WireModels

/// A token as listed or audited: never the token itself nor its hash.
public struct TokenRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var name: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var createdBy: UUID?

    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case name
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case createdBy = "created_by"
    }
}

extension TokenStore {
    static let columns = "id, user_id, name, created_at, expires_at, revoked_at, created_by"

    /// A new random token (256 bits, base64url, `crm_` prefix so it is recognisable in a
    /// secret scanner). Only its SHA-256 is stored; the caller shows the clear value once.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "crm_" + b64
    }

    /// `mintedBy`: the token whose holder made this one (nil for tokens made by operators'
    /// tools); revoking it revokes this one too.
    public static func create(
        userId: UUID, name: String, expiresAt: Date?, createdBy: UUID?, mintedBy: UUID? = nil,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> (row: TokenRow, token: String) {
        let token = generate()
        let hash = Hashing.sha256Hex(Array(token.utf8))
        let rows = try await decode(
            conn.query(
                """
                INSERT INTO api_tokens (user_id, name, token_sha256, expires_at, created_by, minted_by)
                VALUES (\(userId), \(name), \(hash), \(expiresAt), \(createdBy), \(mintedBy))
                RETURNING \(unescaped: columns)
                """, logger: logger))
        guard let row = rows.first else { throw StorageError.invalid("token insert returned no row") }
        return (row, token)
    }

    /// Tokens of one user (or of everyone), by id; revoked and expired ones included.
    public static func list(userId: UUID?, page: PageRequest<UUID>, on client: PostgresClient, logger: Logger)
        async throws -> [TokenRow]
    {
        try await decode(
            client.query(
                """
                SELECT \(unescaped: columns) FROM api_tokens
                WHERE (\(userId)::uuid IS NULL OR user_id = \(userId))
                  AND (\(page.after)::uuid IS NULL OR id > \(page.after))
                ORDER BY id LIMIT \(page.limit)
                """, logger: logger))
    }

    public static func get(id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> TokenRow? {
        try await decode(conn.query("SELECT \(unescaped: columns) FROM api_tokens WHERE id = \(id)", logger: logger))
            .first
    }

    /// Revokes the token and every token minted through it, at any depth (idempotently: a
    /// second revoke keeps the first time). Returns the token and the descendants it revoked now.
    public static func revoke(id: UUID, on conn: PostgresConnection, logger: Logger) async throws
        -> (row: TokenRow, descendants: [TokenRow])?
    {
        let revoked = try await decode(
            conn.query(
                """
                WITH RECURSIVE lineage(id) AS (
                    SELECT id FROM api_tokens WHERE id = \(id)
                    UNION SELECT t.id FROM api_tokens t JOIN lineage l ON t.minted_by = l.id)
                UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
                WHERE id IN (SELECT id FROM lineage) AND (id = \(id) OR revoked_at IS NULL)
                RETURNING \(unescaped: columns)
                """, logger: logger))
        guard let row = revoked.first(where: { $0.id == id }) else { return nil }
        return (row, revoked.filter { $0.id != id })
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TokenRow] {
        var out: [TokenRow] = []
        for try await (id, user, name, created, expires, revoked, by) in rows.decode(
            (UUID, UUID, String, Date, Date?, Date?, UUID?).self)
        {
            out.append(
                TokenRow(
                    id: id, userId: user, name: name, createdAt: created, expiresAt: expires, revokedAt: revoked,
                    createdBy: by))
        }
        return out
    }
}
