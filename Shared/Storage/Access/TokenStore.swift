import Foundation
import PostgresNIO
import WireModels

public struct Principal: Sendable, Equatable {
    public var userId: UUID
    public var tokenId: UUID
    public var role: String
}

/// API tokens are stored as SHA-256 hashes only; the clear token is shown once at creation.
public enum TokenStore {
    /// Ensures an active admin user owning a token with this value (CRM_BOOTSTRAP_TOKEN),
    /// so a fresh install can be administered. Idempotent across restarts and replicas; a
    /// bootstrap token that was revoked stays revoked (set a new CRM_BOOTSTRAP_TOKEN instead).
    public static func ensureBootstrapAdmin(token: String, on client: PostgresClient, logger: Logger) async throws {
        let hash = Hashing.sha256Hex(Array(token.utf8))
        try await client.transaction(logger: logger) { conn in
            try await conn.query(
                """
                INSERT INTO users (name, email, role) VALUES ('Administrator', 'admin@localhost', 'admin')
                ON CONFLICT (email) DO NOTHING
                """, logger: logger)
            try await conn.query(
                """
                INSERT INTO api_tokens (user_id, name, token_sha256)
                SELECT id, 'bootstrap', \(hash) FROM users WHERE email = 'admin@localhost'
                ON CONFLICT (token_sha256) DO NOTHING
                """, logger: logger)
        }
    }

    public static func authenticate(token: String, on client: PostgresClient, logger: Logger) async throws
        -> Principal?
    {
        let hash = Hashing.sha256Hex(Array(token.utf8))
        let rows = try await client.query(
            """
            SELECT t.id, u.id, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_sha256 = \(hash) AND t.revoked_at IS NULL AND u.active
              AND (t.expires_at IS NULL OR t.expires_at > now())
            """, logger: logger)
        for try await (tokenId, userId, role) in rows.decode((UUID, UUID, String).self) {
            return Principal(userId: userId, tokenId: tokenId, role: role)
        }
        return nil
    }
}
