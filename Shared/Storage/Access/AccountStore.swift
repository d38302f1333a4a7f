import Foundation
import PostgresNIO
import WireModels

/// A WhatsApp Business account as the API shows it: which secrets are set, never their values.
public struct AccountRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var wabaId: String
    public var name: String
    public var accessTokenSet: Bool
    public var appSecretSet: Bool
    public var verifyTokenSet: Bool
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case wabaId = "waba_id"
        case name
        case accessTokenSet = "access_token_set"
        case appSecretSet = "app_secret_set"
        case verifyTokenSet = "verify_token_set"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Sealed (encrypted) secrets of an account; each one kept, set or cleared.
public struct SealedAccountSecrets: Sendable {
    public var accessToken: Change<Data> = .keep
    public var appSecret: Change<Data> = .keep
    public var verifyToken: Change<Data> = .keep
    public init() {}

    /// Seals the given clear values with `box` (nil = keep the stored value).
    public init(accessToken: String?, appSecret: String?, verifyToken: String?, box: SecretBox) throws {
        if let accessToken { self.accessToken = .set(Data(try box.seal(accessToken))) }
        if let appSecret { self.appSecret = .set(Data(try box.seal(appSecret))) }
        if let verifyToken { self.verifyToken = .set(Data(try box.seal(verifyToken))) }
    }
}

/// The clear secrets of an account, for the services that call Meta or check its webhooks.
public struct AccountSecrets: Sendable {
    public var accessToken: String?
    public var appSecret: String?
    public var verifyToken: String?
}

public enum AccountStore {
    static let columns = """
        id, waba_id, name, access_token_enc IS NOT NULL, app_secret_enc IS NOT NULL, verify_token_enc IS NOT NULL,
        created_at, updated_at
        """

    public static func list(page: PageRequest<UUID>, on client: PostgresClient, logger: Logger) async throws
        -> [AccountRow]
    {
        try await decode(
            client.query(
                """
                SELECT \(unescaped: columns) FROM wa_accounts WHERE (\(page.after)::uuid IS NULL OR id > \(page.after))
                ORDER BY id LIMIT \(page.limit)
                """, logger: logger))
    }

    public static func get(id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> AccountRow? {
        try await decode(conn.query("SELECT \(unescaped: columns) FROM wa_accounts WHERE id = \(id)", logger: logger))
            .first
    }

    public static func exists(id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        try await get(id: id, on: conn, logger: logger) != nil
    }

    /// Returns nil when an account with this WABA id exists already.
    public static func create(
        wabaId: String, name: String, secrets: SealedAccountSecrets, on conn: PostgresConnection, logger: Logger
    ) async throws -> AccountRow? {
        try await decode(
            conn.query(
                """
                INSERT INTO wa_accounts (waba_id, name, access_token_enc, app_secret_enc, verify_token_enc)
                VALUES (\(wabaId), \(name), \(secrets.accessToken.newValue), \(secrets.appSecret.newValue),
                        \(secrets.verifyToken.newValue))
                ON CONFLICT (waba_id) DO NOTHING RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    public static func update(
        id: UUID, wabaId: Change<String>, name: Change<String>, secrets: SealedAccountSecrets,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> AccountRow? {
        let s = secrets
        return try await decode(
            conn.query(
                """
                UPDATE wa_accounts SET
                    waba_id = CASE WHEN \(wabaId.isSet) THEN \(wabaId.newValue) ELSE waba_id END,
                    name = CASE WHEN \(name.isSet) THEN \(name.newValue) ELSE name END,
                    access_token_enc = CASE WHEN \(s.accessToken.isSet) THEN \(s.accessToken.newValue)
                                       ELSE access_token_enc END,
                    app_secret_enc = CASE WHEN \(s.appSecret.isSet) THEN \(s.appSecret.newValue) ELSE app_secret_enc END,
                    verify_token_enc = CASE WHEN \(s.verifyToken.isSet) THEN \(s.verifyToken.newValue)
                                       ELSE verify_token_enc END,
                    updated_at = now()
                WHERE id = \(id) RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    /// Config-file and environment form: create or update the account with this WABA id.
    /// Secrets not given (`.keep`) stay as stored.
    public static func upsert(
        wabaId: String, name: String, secrets: SealedAccountSecrets, on conn: PostgresConnection, logger: Logger
    ) async throws -> AccountRow {
        let s = secrets
        let rows = try await decode(
            conn.query(
                """
                INSERT INTO wa_accounts (waba_id, name, access_token_enc, app_secret_enc, verify_token_enc)
                VALUES (\(wabaId), \(name), \(s.accessToken.newValue), \(s.appSecret.newValue),
                        \(s.verifyToken.newValue))
                ON CONFLICT (waba_id) DO UPDATE SET name = excluded.name,
                    access_token_enc = CASE WHEN \(s.accessToken.isSet) THEN excluded.access_token_enc
                                       ELSE wa_accounts.access_token_enc END,
                    app_secret_enc = CASE WHEN \(s.appSecret.isSet) THEN excluded.app_secret_enc
                                     ELSE wa_accounts.app_secret_enc END,
                    verify_token_enc = CASE WHEN \(s.verifyToken.isSet) THEN excluded.verify_token_enc
                                       ELSE wa_accounts.verify_token_enc END,
                    updated_at = now()
                RETURNING \(unescaped: columns)
                """, logger: logger))
        guard let row = rows.first else { throw StorageError.invalid("account upsert returned no row") }
        return row
    }

    public static func wabaTaken(_ wabaId: String, except id: UUID?, on conn: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await conn.query(
            "SELECT 1 FROM wa_accounts WHERE waba_id = \(wabaId) AND (\(id)::uuid IS NULL OR id <> \(id))",
            logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Decrypts an account's secrets (for senders and webhook verification; never for the API).
    public static func secrets(wabaId: String, box: SecretBox, on client: PostgresClient, logger: Logger)
        async throws -> AccountSecrets?
    {
        let rows = try await client.query(
            "SELECT access_token_enc, app_secret_enc, verify_token_enc FROM wa_accounts WHERE waba_id = \(wabaId)",
            logger: logger)
        for try await (a, s, v) in rows.decode((Data?, Data?, Data?).self) {
            return AccountSecrets(
                accessToken: try a.map { try box.open(Array($0)) }, appSecret: try s.map { try box.open(Array($0)) },
                verifyToken: try v.map { try box.open(Array($0)) })
        }
        return nil
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [AccountRow] {
        var out: [AccountRow] = []
        for try await (id, waba, name, a, s, v, created, updated) in rows.decode(
            (UUID, String, String, Bool, Bool, Bool, Date, Date).self)
        {
            out.append(
                AccountRow(
                    id: id, wabaId: waba, name: name, accessTokenSet: a, appSecretSet: s, verifyTokenSet: v,
                    createdAt: created, updatedAt: updated))
        }
        return out
    }
}
