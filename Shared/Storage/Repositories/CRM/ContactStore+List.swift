import Foundation
import PostgresNIO
import WireModels

public struct ContactFilter: Sendable {
    public var matchKey: String?
    public var ownerId: UUID?
    /// Free text: a part of the name, profile name or phone digits.
    public var query: String?

    public init(matchKey: String? = nil, ownerId: UUID? = nil, query: String? = nil) {
        self.matchKey = matchKey
        self.ownerId = ownerId
        self.query = query
    }
}

/// The API's reads and writes of contacts, always within the caller's `OwnerScope`.
extension ContactStore {
    /// Newest first; returns the page and the cursor of its last item when the page is full.
    public static func list(
        _ filter: ContactFilter, scope: OwnerScope, after cursor: KeysetCursor?, limit: Int,
        on client: PostgresClient, logger: Logger
    ) async throws -> (items: [ContactRow], next: KeysetCursor?) {
        var pattern: String?
        var digits: String?
        if let q = filter.query?.trimmingCharacters(in: .whitespaces), !q.isEmpty {
            let escaped = q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            pattern = "%" + escaped + "%"
            let d = q.filter { $0.isASCII && $0.isNumber }
            if d.count >= 3 { digits = "%" + d + "%" }
        }
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns), (extract(epoch FROM created_at) * 1000000)::bigint FROM contacts
            WHERE (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
              AND (\(filter.matchKey)::text IS NULL OR match_key = \(filter.matchKey))
              AND (\(filter.ownerId)::uuid IS NULL OR owner_id = \(filter.ownerId))
              AND (\(pattern)::text IS NULL OR name ILIKE \(pattern) OR profile_name ILIKE \(pattern)
                   OR phone LIKE \(digits ?? pattern))
              AND (\(cursor?.micros)::bigint IS NULL
                   OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < (\(cursor?.micros), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit)
            """, logger: logger)
        var items: [ContactRow] = []
        var last: KeysetCursor?
        for try await row in rows {
            let contact = try await decode(row)
            items.append(contact)
            last = KeysetCursor(micros: try row.makeRandomAccess()[15].decode(Int64.self), id: contact.id)
        }
        return (items, items.count == limit ? last : nil)
    }

    public static func get(id: UUID, scope: OwnerScope, on conn: PostgresConnection, lock: Bool = false, logger: Logger)
        async throws -> ContactRow?
    {
        let rows = try await conn.query(
            """
            SELECT \(unescaped: columns) FROM contacts
            WHERE id = \(id) AND (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// Writes the API-editable fields and bumps the version; a name typed here is the contact's
    /// name from now on (`name_source = api`), clearing it hands the name back to WhatsApp's profile.
    public enum NameChange: Sendable, Equatable {
        case keep
        case set(String)
        case clear
    }

    public static func update(
        id: UUID, name: NameChange, ownerId: UUID?, tags: [String], on conn: PostgresConnection, logger: Logger
    ) async throws -> ContactRow {
        var newName: String?
        if case .set(let n) = name { newName = n }
        let keep = name == .keep
        let rows = try await conn.query(
            """
            UPDATE contacts SET
                name = CASE WHEN \(keep) THEN name ELSE COALESCE(\(newName), profile_name) END,
                name_source = CASE WHEN \(keep) THEN name_source
                                   WHEN \(newName)::text IS NOT NULL THEN 'api'
                                   WHEN profile_name IS NOT NULL THEN 'whatsapp' END,
                owner_id = \(ownerId), tags = \(tags), version = version + 1, updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let row = try await decode(rows).first else { throw StorageError.invalid("contact \(id) vanished") }
        return row
    }

    static func decode(_ row: PostgresRow) async throws -> ContactRow {
        let r = row.makeRandomAccess()
        let source = try r[9].decode(String?.self)
        return ContactRow(
            id: try r[0].decode(UUID.self), phone: try r[1].decode(String?.self), waId: try r[2].decode(String?.self),
            userId: try r[3].decode(String?.self), name: try r[4].decode(String?.self),
            nameSource: try r[5].decode(String?.self), profileName: try r[6].decode(String?.self),
            ownerId: try r[7].decode(UUID?.self), tags: try r[8].decode([String].self),
            source: try source.map { try JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) },
            optedOut: try r[10].decode(Bool.self), optedOutAt: try r[11].decode(Date?.self),
            version: try r[12].decode(Int.self), createdAt: try r[13].decode(Date.self),
            updatedAt: try r[14].decode(Date.self))
    }
}

/// Users the API may assign records to.
public enum UserLookup {
    public static func isActive(_ id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await _ in try await conn.query("SELECT 1 FROM users WHERE id = \(id) AND active", logger: logger) {
            return true
        }
        return false
    }
}
