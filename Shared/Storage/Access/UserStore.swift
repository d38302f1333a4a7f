import Foundation
import PostgresNIO
import WireModels

public struct UserRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var email: String?
    public var role: String
    public var department: String?
    public var active: Bool
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, email, role, department, active
        case createdAt = "created_at"
    }
}

public struct UserChanges: Sendable {
    public var name: Change<String> = .keep
    public var email: Change<String> = .keep
    public var role: Change<String> = .keep
    public var department: Change<String> = .keep
    public var active: Change<Bool> = .keep
    public init() {}
}

/// Users of the API (operators, managers, agents). Emails are unique (the natural key the
/// config file and `crmctl` upsert by).
public enum UserStore {
    static let columns = "id, name, email, role, department, active, created_at"

    public static func list(page: PageRequest<UUID>, on client: PostgresClient, logger: Logger) async throws
        -> [UserRow]
    {
        try await decode(
            client.query(
                """
                SELECT \(unescaped: columns) FROM users WHERE (\(page.after)::uuid IS NULL OR id > \(page.after))
                ORDER BY id LIMIT \(page.limit)
                """, logger: logger))
    }

    public static func get(id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> UserRow? {
        try await decode(
            conn.query("SELECT \(unescaped: columns) FROM users WHERE id = \(id)", logger: logger)
        ).first
    }

    /// Returns nil when the email is already taken.
    public static func create(
        name: String, email: String?, role: String, department: String?, active: Bool, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> UserRow? {
        try await decode(
            conn.query(
                """
                INSERT INTO users (name, email, role, department, active)
                VALUES (\(name), \(email), \(role), \(department), \(active))
                ON CONFLICT (email) DO NOTHING RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    /// Creates the user or updates name, role and department of the one with this email.
    public static func upsert(
        email: String, name: String, role: String, department: String?, on conn: PostgresConnection, logger: Logger
    ) async throws -> UserRow {
        let rows = try await decode(
            conn.query(
                """
                INSERT INTO users (name, email, role, department) VALUES (\(name), \(email), \(role), \(department))
                ON CONFLICT (email) DO UPDATE SET name = excluded.name, role = excluded.role,
                    department = excluded.department
                RETURNING \(unescaped: columns)
                """, logger: logger))
        guard let row = rows.first else { throw StorageError.invalid("user upsert returned no row") }
        return row
    }

    public static func emailTaken(_ email: String, except id: UUID?, on conn: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await conn.query(
            "SELECT 1 FROM users WHERE email = \(email) AND (\(id)::uuid IS NULL OR id <> \(id))", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public static func update(id: UUID, _ c: UserChanges, on conn: PostgresConnection, logger: Logger) async throws
        -> UserRow?
    {
        try await decode(
            conn.query(
                """
                UPDATE users SET
                    name = CASE WHEN \(c.name.isSet) THEN \(c.name.newValue) ELSE name END,
                    email = CASE WHEN \(c.email.isSet) THEN \(c.email.newValue) ELSE email END,
                    role = CASE WHEN \(c.role.isSet) THEN \(c.role.newValue) ELSE role END,
                    department = CASE WHEN \(c.department.isSet) THEN \(c.department.newValue) ELSE department END,
                    active = CASE WHEN \(c.active.isSet) THEN \(c.active.newValue) ELSE active END
                WHERE id = \(id) RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    /// Active admins with a usable account: a change that leaves none is refused, so the
    /// install can always be administered.
    public static func activeAdminCount(on conn: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await conn.query(
            "SELECT count(*)::int FROM users WHERE role = 'admin' AND active", logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [UserRow] {
        var out: [UserRow] = []
        for try await (id, name, email, role, department, active, created) in rows.decode(
            (UUID, String, String?, String, String?, Bool, Date).self)
        {
            out.append(
                UserRow(
                    id: id, name: name, email: email, role: role, department: department, active: active,
                    createdAt: created))
        }
        return out
    }
}

extension UserStore {
    /// The manager of the owner's department (the oldest active one other than the owner).
    public static func manager(of owner: UUID, on conn: PostgresConnection, logger: Logger) async throws -> UUID? {
        let rows = try await conn.query(
            """
            SELECT m.id FROM users o JOIN users m
                ON m.department = o.department AND m.role = 'manager' AND m.active AND m.id <> o.id
            WHERE o.id = \(owner) ORDER BY m.created_at, m.id LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// The active user with this e-mail (or, with `orId`, this id).
    public static func activeId(
        email: String, orId: Bool = false, on conn: PostgresConnection, logger: Logger
    ) async throws -> UUID? {
        let rows = try await conn.query(
            "SELECT id FROM users WHERE (email = \(email) OR (\(orId) AND id::text = \(email))) AND active",
            logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }
}
