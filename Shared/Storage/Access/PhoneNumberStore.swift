import Foundation
import PostgresNIO
import WireModels

/// A business phone number: who it belongs to and how fast the sender may use it.
public struct PhoneNumberRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var phoneNumberId: String
    public var displayPhoneNumber: String?
    public var accountId: UUID?
    public var messagesPerSecond: Int
    public var tier: String
    public var qualityRating: String?
    public var department: String?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case phoneNumberId = "phone_number_id"
        case displayPhoneNumber = "display_phone_number"
        case accountId = "account_id"
        case messagesPerSecond = "messages_per_second"
        case tier
        case qualityRating = "quality_rating"
        case department
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// Meta's messaging tiers (24 h unique-recipient budgets); the schema checks the same list.
    public static let tiers = ["TIER_50", "TIER_250", "TIER_1K", "TIER_10K", "TIER_100K", "UNLIMITED"]
}

public struct PhoneNumberFields: Sendable {
    public var phoneNumberId: Change<String> = .keep
    public var displayPhoneNumber: Change<String> = .keep
    public var accountId: Change<UUID> = .keep
    public var messagesPerSecond: Change<Int> = .keep
    public var tier: Change<String> = .keep
    public var department: Change<String> = .keep
    public init() {}
}

public enum PhoneNumberStore {
    static let columns = """
        id, phone_number_id, display_phone_number, account_id, messages_per_second, messaging_tier, quality_rating,
        department, created_at, updated_at
        """

    public static func list(accountId: UUID?, page: PageRequest<UUID>, on client: PostgresClient, logger: Logger)
        async throws -> [PhoneNumberRow]
    {
        try await decode(
            client.query(
                """
                SELECT \(unescaped: columns) FROM wa_phone_numbers
                WHERE (\(page.after)::uuid IS NULL OR id > \(page.after))
                  AND (\(accountId)::uuid IS NULL OR account_id = \(accountId))
                ORDER BY id LIMIT \(page.limit)
                """, logger: logger))
    }

    public static func get(id: UUID, on conn: PostgresConnection, logger: Logger) async throws -> PhoneNumberRow? {
        try await decode(
            conn.query("SELECT \(unescaped: columns) FROM wa_phone_numbers WHERE id = \(id)", logger: logger)
        ).first
    }

    /// Whether the number is one of ours: in `wa_phone_numbers`, or the environment's default.
    public static func isConfigured(
        _ phoneNumberId: String, default defaultId: String?, on client: PostgresClient, logger: Logger
    ) async throws -> Bool {
        if phoneNumberId == defaultId { return true }
        let rows = try await client.query(
            "SELECT 1 FROM wa_phone_numbers WHERE phone_number_id = \(phoneNumberId)", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public static func idTaken(_ phoneNumberId: String, except id: UUID?, on conn: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await conn.query(
            """
            SELECT 1 FROM wa_phone_numbers WHERE phone_number_id = \(phoneNumberId)
              AND (\(id)::uuid IS NULL OR id <> \(id))
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Inserts a number (defaults: 80 messages/s, TIER_1K); nil when the phone_number_id exists.
    public static func create(_ f: PhoneNumberFields, on conn: PostgresConnection, logger: Logger) async throws
        -> PhoneNumberRow?
    {
        try await decode(
            conn.query(
                """
                INSERT INTO wa_phone_numbers (phone_number_id, display_phone_number, account_id, messages_per_second,
                                              messaging_tier, department)
                VALUES (\(f.phoneNumberId.newValue), \(f.displayPhoneNumber.newValue), \(f.accountId.newValue),
                        coalesce(\(f.messagesPerSecond.newValue)::int, 80), coalesce(\(f.tier.newValue)::text, 'TIER_1K'),
                        \(f.department.newValue))
                ON CONFLICT (phone_number_id) DO NOTHING RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    public static func update(id: UUID, _ f: PhoneNumberFields, on conn: PostgresConnection, logger: Logger)
        async throws -> PhoneNumberRow?
    {
        try await decode(
            conn.query(
                """
                UPDATE wa_phone_numbers SET
                    phone_number_id = CASE WHEN \(f.phoneNumberId.isSet) THEN \(f.phoneNumberId.newValue)
                                      ELSE phone_number_id END,
                    display_phone_number = CASE WHEN \(f.displayPhoneNumber.isSet) THEN \(f.displayPhoneNumber.newValue)
                                           ELSE display_phone_number END,
                    account_id = CASE WHEN \(f.accountId.isSet) THEN \(f.accountId.newValue) ELSE account_id END,
                    messages_per_second = CASE WHEN \(f.messagesPerSecond.isSet) THEN \(f.messagesPerSecond.newValue)
                                          ELSE messages_per_second END,
                    messaging_tier = CASE WHEN \(f.tier.isSet) THEN \(f.tier.newValue) ELSE messaging_tier END,
                    department = CASE WHEN \(f.department.isSet) THEN \(f.department.newValue) ELSE department END,
                    updated_at = now()
                WHERE id = \(id) RETURNING \(unescaped: columns)
                """, logger: logger)
        ).first
    }

    /// Config-file form: create or update the number with this phone_number_id; fields not
    /// given keep their stored (or default) values.
    public static func upsert(
        phoneNumberId: String, accountId: UUID, _ f: PhoneNumberFields, on conn: PostgresConnection, logger: Logger
    ) async throws -> PhoneNumberRow {
        try await conn.query(
            """
            INSERT INTO wa_phone_numbers (phone_number_id, account_id) VALUES (\(phoneNumberId), \(accountId))
            ON CONFLICT (phone_number_id) DO UPDATE SET account_id = excluded.account_id
            """, logger: logger)
        let rows = try await decode(
            conn.query(
                "SELECT \(unescaped: columns) FROM wa_phone_numbers WHERE phone_number_id = \(phoneNumberId)",
                logger: logger))
        guard let row = rows.first, let updated = try await update(id: row.id, f, on: conn, logger: logger) else {
            throw StorageError.invalid("phone number upsert returned no row")
        }
        return updated
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [PhoneNumberRow] {
        var out: [PhoneNumberRow] = []
        for try await (id, pnid, display, account, mps, tier, quality, department, created, updated) in rows.decode(
            (UUID, String, String?, UUID?, Int, String, String?, String?, Date, Date).self)
        {
            out.append(
                PhoneNumberRow(
                    id: id, phoneNumberId: pnid, displayPhoneNumber: display, accountId: account,
                    messagesPerSecond: mps, tier: tier, qualityRating: quality, department: department,
                    createdAt: created, updatedAt: updated))
        }
        return out
    }
}

/// Numbers that test sends (`test: true`, campaign test-sends) may go to.
public enum TestRecipientStore {
    public static func upsert(phone: String, name: String?, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query(
            """
            INSERT INTO test_recipients (phone, name) VALUES (\(phone), \(name))
            ON CONFLICT (phone) DO UPDATE SET name = excluded.name
            """, logger: logger)
    }

    public static func all(on client: PostgresClient, logger: Logger) async throws -> [String] {
        var out: [String] = []
        for try await phone in try await client.query(
            "SELECT phone FROM test_recipients ORDER BY phone", logger: logger
        )
        .decode(String.self) {
            out.append(phone)
        }
        return out
    }
}

extension PhoneNumberStore {
    /// The account (wa_accounts.id) of each number that has one.
    public static func accounts(of numbers: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> [String: UUID]
    {
        let rows = try await conn.query(
            """
            SELECT phone_number_id, account_id FROM wa_phone_numbers
            WHERE phone_number_id = ANY(\(numbers)) AND account_id IS NOT NULL
            """, logger: logger)
        var out: [String: UUID] = [:]
        for try await (number, account) in rows.decode((String, UUID).self) { out[number] = account }
        return out
    }

    /// The department a number is configured for, if any.
    public static func department(of phoneNumberId: String, on conn: PostgresConnection, logger: Logger)
        async throws -> String?
    {
        let rows = try await conn.query(
            "SELECT department FROM wa_phone_numbers WHERE phone_number_id = \(phoneNumberId)", logger: logger)
        for try await department in rows.decode(String?.self) { return department }
        return nil
    }
}
