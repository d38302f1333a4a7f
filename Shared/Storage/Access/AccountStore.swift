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

/// Changes to an account's secrets, in clear until the store seals them for the account's row
/// (each value is bound to its row and column); each one kept, set or cleared.
public struct AccountSecretChanges: Sendable {
    public var accessToken: Change<String> = .keep
    public var appSecret: Change<String> = .keep
    public var verifyToken: Change<String> = .keep
    /// Needed when a value is set.
    public var box: SecretBox?

    public init(box: SecretBox? = nil) { self.box = box }

    /// The given values set, the others kept.
    public init(accessToken: String?, appSecret: String?, verifyToken: String?, box: SecretBox) {
        self.box = box
        if let accessToken { self.accessToken = .set(accessToken) }
        if let appSecret { self.appSecret = .set(appSecret) }
        if let verifyToken { self.verifyToken = .set(verifyToken) }
    }

    var setsAny: Bool { [accessToken, appSecret, verifyToken].contains { $0.newValue != nil } }

    /// Sealed for the account `id`.
    func sealed(for id: UUID) throws -> SealedAccountSecrets {
        func seal(_ change: Change<String>, _ column: String) throws -> Change<Data> {
            switch change {
            case .keep: return .keep
            case .set(nil): return .set(nil)
            case .set(let value?):
                guard let box else { throw SecretBoxError.missingKey }
                return .set(Data(try box.seal(value, context: AccountStore.context(id, column))))
            }
        }
        return SealedAccountSecrets(
            accessToken: try seal(accessToken, "access_token"), appSecret: try seal(appSecret, "app_secret"),
            verifyToken: try seal(verifyToken, "verify_token"))
    }
}

/// An account's secrets as stored (encrypted); each one kept, set or cleared.
struct SealedAccountSecrets: Sendable {
    var accessToken: Change<Data> = .keep
    var appSecret: Change<Data> = .keep
    var verifyToken: Change<Data> = .keep
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

    /// Where a secret is stored, bound into its encryption: a value moved to another row or
    /// column does not open.
    static func context(_ id: UUID, _ column: String) -> String {
        "wa_accounts/\(id.uuidString.lowercased())/\(column)"
    }

    /// Returns nil when an account with this WABA id exists already.
    public static func create(
        wabaId: String, name: String, secrets changes: AccountSecretChanges, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> AccountRow? {
        let id = UUID()
        let secrets = try changes.sealed(for: id)
        return try await decode(
            conn.query(
                """
                INSERT INTO wa_accounts (id, waba_id, name, access_token_enc, app_secret_enc, verify_token_enc)
                VALUES (\(id), \(wabaId), \(name), \(secrets.accessToken.newValue), \(secrets.appSecret.newValue),
                        \(secrets.verifyToken.newValue))
                ON CONFLICT (waba_id) DO NOTHING RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    public static func update(
        id: UUID, wabaId: Change<String>, name: Change<String>, secrets changes: AccountSecretChanges,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> AccountRow? {
        let s = try changes.sealed(for: id)
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
        wabaId: String, name: String, secrets changes: AccountSecretChanges, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> AccountRow {
        // The row's id is bound into its secrets, so it must be known before sealing: replicas
        // loading the same config file at once take this lock and find the same row.
        try await conn.query("SELECT pg_advisory_xact_lock(hashtext('wa_accounts:' || \(wabaId)))", logger: logger)
        var id = UUID()
        for try await existing in try await conn.query(
            "SELECT id FROM wa_accounts WHERE waba_id = \(wabaId)", logger: logger
        ).decode(UUID.self) {
            id = existing
        }
        let s = try changes.sealed(for: id)
        let rows = try await decode(
            conn.query(
                """
                INSERT INTO wa_accounts (id, waba_id, name, access_token_enc, app_secret_enc, verify_token_enc)
                VALUES (\(id), \(wabaId), \(name), \(s.accessToken.newValue), \(s.appSecret.newValue),
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
            """
            SELECT id, access_token_enc, app_secret_enc, verify_token_enc FROM wa_accounts WHERE waba_id = \(wabaId)
            """, logger: logger)
        for try await (id, a, s, v) in rows.decode((UUID, Data?, Data?, Data?).self) {
            func open(_ sealed: Data?, _ column: String) throws -> String? {
                try sealed.map { try box.open(Array($0), context: context(id, column)) }
            }
            return AccountSecrets(
                accessToken: try open(a, "access_token"), appSecret: try open(s, "app_secret"),
                verifyToken: try open(v, "verify_token"))
        }
        return nil
    }

    /// Re-seals every stored secret (accounts' and outbound webhooks' signing secrets) that is
    /// not under the current key, is in the form from before key ids, or was stored in clear,
    /// with the current key, bound to its row and column, in one transaction. Returns how many
    /// values were re-sealed; a second run re-seals none.
    public static func rotateSecrets(box: SecretBox, on client: PostgresClient, logger: Logger) async throws -> Int {
        try await client.transaction(logger: logger) { conn in
            let hooks = try await OutboundWebhookStore.rotateSecrets(box: box, on: conn, logger: logger)
            let rows = try await conn.query(
                "SELECT id, access_token_enc, app_secret_enc, verify_token_enc FROM wa_accounts FOR UPDATE",
                logger: logger)
            var work: [(UUID, [(String, Data)])] = []
            for try await (id, a, s, v) in rows.decode((UUID, Data?, Data?, Data?).self) {
                let stale = [("access_token", a), ("app_secret", s), ("verify_token", v)]
                    .compactMap { column, value in value.map { (column, $0) } }
                    .filter { box.needsRotation(Array($0.1)) }
                if !stale.isEmpty { work.append((id, stale)) }
            }
            var count = 0
            for (id, stale) in work {
                for (column, sealed) in stale {
                    let clear = try box.open(Array(sealed), context: context(id, column))
                    let resealed = Data(try box.seal(clear, context: context(id, column)))
                    try await conn.query(
                        """
                        UPDATE wa_accounts SET
                            access_token_enc = CASE WHEN \(column) = 'access_token' THEN \(resealed)
                                               ELSE access_token_enc END,
                            app_secret_enc = CASE WHEN \(column) = 'app_secret' THEN \(resealed) ELSE app_secret_enc END,
                            verify_token_enc = CASE WHEN \(column) = 'verify_token' THEN \(resealed)
                                               ELSE verify_token_enc END,
                            updated_at = now()
                        WHERE id = \(id)
                        """, logger: logger)
                    count += 1
                }
            }
            return count + hooks
        }
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
