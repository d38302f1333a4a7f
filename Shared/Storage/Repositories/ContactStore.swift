import Foundation
import PostgresNIO

public struct ContactRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var phone: String?
    public var waId: String?
    public var userId: String?
    public var name: String?
    public var ownerId: UUID?
    public var tags: [String]
    public var optedOut: Bool
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone
        case waId = "wa_id"
        case userId = "user_id"
        case name
        case ownerId = "owner_id"
        case tags
        case optedOut = "opted_out"
        case createdAt = "created_at"
    }
}

public enum ContactStore {
    /// Find-or-create by `wa_id` (else by the business-scoped `user_id`), race-free: the unique
    /// index decides, concurrent workers converge on one row. WhatsApp's profile name fills
    /// `name` only while the contact has none, so a name a user typed is never overwritten.
    public static func upsertFromWhatsApp(
        waId: String?, userId: String?, profileName: String?, on conn: PostgresConnection, logger: Logger
    ) async throws -> UUID {
        let phone = waId.map { "+" + $0 }
        let rows: PostgresRowSequence
        if let waId {
            rows = try await conn.query(
                """
                INSERT INTO contacts (phone, wa_id, user_id, profile_name, name)
                VALUES (\(phone), \(waId), \(userId), \(profileName), \(profileName))
                ON CONFLICT (wa_id) DO UPDATE SET
                    profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
                    name = COALESCE(contacts.name, EXCLUDED.profile_name),
                    user_id = COALESCE(contacts.user_id, EXCLUDED.user_id),
                    updated_at = now()
                RETURNING id
                """, logger: logger)
        } else if let userId {
            rows = try await conn.query(
                """
                INSERT INTO contacts (user_id, profile_name, name)
                VALUES (\(userId), \(profileName), \(profileName))
                ON CONFLICT (user_id) DO UPDATE SET
                    profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
                    name = COALESCE(contacts.name, EXCLUDED.profile_name), updated_at = now()
                RETURNING id
                """, logger: logger)
        } else {
            throw StorageError.invalid("a WhatsApp contact needs a wa_id or a user_id")
        }
        for try await id in rows.decode(UUID.self) { return id }
        throw StorageError.invalid("contact upsert returned no row")
    }

    /// The batch form of `upsertFromWhatsApp` for contacts with a wa_id: one statement for
    /// the whole batch, in wa_id order so concurrent workers lock rows in the same order.
    /// Returns wa_id → contact id.
    public static func upsertMany(
        _ contacts: [(waId: String, userId: String?, profileName: String?)], on conn: PostgresConnection,
        logger: Logger
    ) async throws -> [String: UUID] {
        // One row per wa_id (ON CONFLICT DO UPDATE may not touch a row twice); the latest profile wins.
        var byWaId: [String: (userId: String?, profileName: String?)] = [:]
        for c in contacts {
            let previous = byWaId[c.waId]
            byWaId[c.waId] = (c.userId ?? previous?.userId, c.profileName ?? previous?.profileName)
        }
        let waIds = byWaId.keys.sorted()
        guard !waIds.isEmpty else { return [:] }
        let phones = waIds.map { "+" + $0 }
        // PostgresNIO binds no arrays of optionals: "" stands for NULL (NULLIF below).
        let userIds = waIds.map { byWaId[$0]?.userId ?? "" }
        let names = waIds.map { byWaId[$0]?.profileName ?? "" }
        let rows = try await conn.query(
            """
            INSERT INTO contacts (phone, wa_id, user_id, profile_name, name)
            SELECT p, w, NULLIF(u, ''), NULLIF(n, ''), NULLIF(n, '') FROM unnest(\(phones)::text[], \(waIds)::text[], \(userIds)::text[], \(names)::text[])
                AS t(p, w, u, n)
            ORDER BY w
            ON CONFLICT (wa_id) DO UPDATE SET
                profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
                name = COALESCE(contacts.name, EXCLUDED.profile_name),
                user_id = COALESCE(contacts.user_id, EXCLUDED.user_id),
                updated_at = now()
            RETURNING wa_id, id
            """, logger: logger)
        var ids: [String: UUID] = [:]
        for try await (waId, id) in rows.decode((String, UUID).self) { ids[waId] = id }
        return ids
    }

    static let columns = "id, phone, wa_id, user_id, name, owner_id, tags, opted_out, created_at"

    public static func find(phoneE164: String, on client: PostgresClient, logger: Logger) async throws -> [ContactRow] {
        let rows = try await client.query(
            "SELECT \(unescaped: columns) FROM contacts WHERE phone = \(phoneE164)", logger: logger)
        return try await decode(rows)
    }

    public static func decode(_ rows: PostgresRowSequence) async throws -> [ContactRow] {
        var out: [ContactRow] = []
        for try await (id, phone, waId, userId, name, owner, tags, optedOut, createdAt) in rows.decode(
            (UUID, String?, String?, String?, String?, UUID?, [String], Bool, Date).self)
        {
            out.append(
                ContactRow(
                    id: id, phone: phone, waId: waId, userId: userId, name: name, ownerId: owner, tags: tags,
                    optedOut: optedOut, createdAt: createdAt))
        }
        return out
    }
}

public enum StorageError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let s): s
        }
    }
}
