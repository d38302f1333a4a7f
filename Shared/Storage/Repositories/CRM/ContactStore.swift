import Foundation
import PostgresNIO
import WireModels

public struct ContactRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var phone: String?
    public var waId: String?
    public var userId: String?
    public var name: String?
    /// `whatsapp` (follows the profile name) or `api` (typed by a user, never overwritten).
    public var nameSource: String?
    public var profileName: String?
    public var ownerId: UUID?
    public var tags: [String]
    /// First source: business number/account, campaign, ad referral, quick-reply payload.
    public var source: JSONValue?
    public var optedOut: Bool
    public var optedOutAt: Date?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone
        case waId = "wa_id"
        case userId = "user_id"
        case name
        case nameSource = "name_source"
        case profileName = "profile_name"
        case ownerId = "owner_id"
        case tags, source
        case optedOut = "opted_out"
        case optedOutAt = "opted_out_at"
        case version
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The row as JSON, for the audit log's before/after.
    public var json: JSONValue {
        get throws { try JSONCoding.decoder().decode(JSONValue.self, from: try JSONCoding.encoder().encode(self)) }
    }
}

/// What the find-or-create of one WhatsApp sender returns.
public struct MatchedContact: Sendable, Equatable {
    public var id: UUID
    public var created: Bool
    public var version: Int
    public var name: String?
    public var ownerId: UUID?
    public var optedOut: Bool
    /// The name changed through this call (the profile name of a contact whose name is WhatsApp's).
    public var nameChanged: Bool

    public init(
        id: UUID, created: Bool, version: Int, name: String?, ownerId: UUID?, optedOut: Bool, nameChanged: Bool
    ) {
        self.id = id
        self.created = created
        self.version = version
        self.name = name
        self.ownerId = ownerId
        self.optedOut = optedOut
        self.nameChanged = nameChanged
    }
}

/// One sender as the matcher sees it.
public struct ContactIdentity: Sendable {
    public var waId: String?
    public var userId: String?
    public var profileName: String?
    /// Where the contact came from, kept only when this creates the contact.
    public var source: JSONValue?

    public init(waId: String?, userId: String?, profileName: String?, source: JSONValue? = nil) {
        self.waId = waId
        self.userId = userId
        self.profileName = profileName
        self.source = source
    }
}

public enum ContactStore {
    /// Find-or-create one contact (the sender uses it for recipients). See `matchMany`.
    @discardableResult
    public static func upsertFromWhatsApp(
        waId: String?, userId: String?, profileName: String?, on conn: PostgresConnection, logger: Logger
    ) async throws -> UUID {
        let identity = ContactIdentity(waId: waId, userId: userId, profileName: profileName)
        guard let match = try await matchMany([identity], fromCustomer: false, on: conn, logger: logger).first
        else { throw StorageError.invalid("contact upsert returned no row") }
        return match.id
    }

    /// Find-or-create contacts, race-free: the unique `match_key` (else `user_id`) decides, and
    /// concurrent workers converge on one row; the row stays locked until the transaction ends,
    /// which serializes all later per-contact work (leads, conversations) of concurrent batches.
    /// Keys are upserted in sorted order so two batches never lock two contacts in opposite order.
    ///
    /// `fromCustomer`: the identity came from the customer's own message, so its wa_id is how
    /// WhatsApp knows them now and replaces the stored one (a recipient's number as we typed it
    /// does not). A profile name given is current; a source given is kept if it is the first.
    /// Returns one result per identity, in order.
    public static func matchMany(
        _ identities: [ContactIdentity], fromCustomer: Bool, on conn: PostgresConnection, logger: Logger
    ) async throws -> [MatchedContact] {
        var byKey: [String: (key: ContactMatchKey, waId: String, identity: ContactIdentity)] = [:]
        // One parse per distinct number: a batch carries many messages from each customer.
        var keyOf: [String: ContactMatchKey] = [:]
        for identity in identities {
            guard let waId = identity.waId else { continue }
            let key = keyOf[waId] ?? ContactMatchKey(waId: waId)
            keyOf[waId] = key
            let previous = byKey[key.key]?.identity
            var merged = identity
            // One row per key (ON CONFLICT DO UPDATE may not touch a row twice): the latest wins.
            merged.userId = identity.userId ?? previous?.userId
            merged.profileName = identity.profileName ?? previous?.profileName
            merged.source = previous?.source ?? identity.source
            byKey[key.key] = (key, waId, merged)
        }
        var results: [String: MatchedContact] = [:]
        if !byKey.isEmpty {
            let keys = byKey.keys.sorted()
            try await attachNumbersToUsernameContacts(keys.compactMap { byKey[$0] }, on: conn, logger: logger)
            results = try await upsertByKey(
                keys.compactMap { byKey[$0] }, fromCustomer: fromCustomer, on: conn, logger: logger)
        }
        var out: [MatchedContact] = []
        for identity in identities {
            if let waId = identity.waId {
                guard let key = keyOf[waId], let match = results[key.key] else {
                    throw StorageError.invalid("contact upsert returned no row for a wa_id")
                }
                out.append(match)
            } else if let userId = identity.userId {
                out.append(
                    try await upsertByUserId(
                        userId, profileName: identity.profileName, source: identity.source, on: conn, logger: logger))
            } else {
                throw StorageError.invalid("a WhatsApp contact needs a wa_id or a user_id")
            }
        }
        return out
    }

    /// A username-only contact (BSUID, no number) that now writes with a number gets that number,
    /// unless another contact already has it.
    static func attachNumbersToUsernameContacts(
        _ rows: [(key: ContactMatchKey, waId: String, identity: ContactIdentity)], on conn: PostgresConnection,
        logger: Logger
    ) async throws {
        let withUser = rows.filter { $0.identity.userId != nil }
        guard !withUser.isEmpty else { return }
        try await conn.query(
            """
            UPDATE contacts c SET match_key = t.k, phone = NULLIF(t.p, ''), wa_id = t.w, updated_at = now()
            FROM unnest(\(withUser.map(\.key.key))::text[], \(withUser.map { $0.key.phone ?? "" })::text[],
                        \(withUser.map(\.waId))::text[], \(withUser.map { $0.identity.userId ?? "" })::text[])
                AS t(k, p, w, u)
            WHERE c.user_id = t.u AND c.match_key IS NULL
              AND NOT EXISTS (SELECT 1 FROM contacts x WHERE x.match_key = t.k)
            """, logger: logger)
    }

    /// ON CONFLICT settles races on `match_key` only. Two workers inserting the same new number
    /// can also collide first on another unique column (`phone`, `wa_id`): the loser gets a
    /// unique violation once the winner commits. Inside a savepoint, the statement is simply run
    /// again; then it finds the winner's row by its match key.
    static func upsertByKey(
        _ rows: [(key: ContactMatchKey, waId: String, identity: ContactIdentity)], fromCustomer: Bool,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> [String: MatchedContact] {
        var attempt = 1
        while true {
            try await conn.query("SAVEPOINT contacts_upsert", logger: logger)
            do {
                let matched = try await upsertByKeyOnce(rows, fromCustomer: fromCustomer, on: conn, logger: logger)
                try await conn.query("RELEASE SAVEPOINT contacts_upsert", logger: logger)
                return matched
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && attempt < 3 {
                try await conn.query("ROLLBACK TO SAVEPOINT contacts_upsert", logger: logger)
                logger.debug(
                    "contact upsert lost a race on a unique column; again",
                    metadata: ["constraint": "\(error.serverInfo?[.constraintName] ?? "-")", "attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }

    static func upsertByKeyOnce(
        _ rows: [(key: ContactMatchKey, waId: String, identity: ContactIdentity)], fromCustomer: Bool,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> [String: MatchedContact] {
        let keys = rows.map(\.key.key)
        // The version before this statement tells whether it changed the name.
        var before: [String: Int] = [:]
        let prior = try await conn.query(
            "SELECT match_key, version FROM contacts WHERE match_key = ANY(\(keys))", logger: logger)
        for try await (key, version) in prior.decode((String, Int).self) { before[key] = version }
        // PostgresNIO binds no arrays of optionals: "" stands for NULL (NULLIF below).
        let phones = rows.map { $0.key.phone ?? "" }
        let waIds = rows.map(\.waId)
        let userIds = rows.map { $0.identity.userId ?? "" }
        let names = rows.map { $0.identity.profileName ?? "" }
        let sources = try rows.map { row in
            try row.identity.source.map { try JSONCoding.text($0) } ?? ""
        }
        // A user_id another contact already holds is left off (one BSUID, one contact); the wa_id
        // of an existing contact moves to the form the customer wrote from, never to a recipient's.
        let result = try await conn.query(
            """
            INSERT INTO contacts (match_key, phone, wa_id, user_id, profile_name, name, name_source, source)
            SELECT k, NULLIF(p, ''), w,
                   CASE WHEN u = '' OR EXISTS (SELECT 1 FROM contacts x WHERE x.user_id = t.u) THEN NULL ELSE u END,
                   NULLIF(n, ''), NULLIF(n, ''), CASE WHEN n = '' THEN NULL ELSE 'whatsapp' END, NULLIF(s, '')::jsonb
            FROM unnest(\(keys)::text[], \(phones)::text[], \(waIds)::text[], \(userIds)::text[], \(names)::text[],
                        \(sources)::text[]) AS t(k, p, w, u, n, s)
            ORDER BY k
            ON CONFLICT (match_key) DO UPDATE SET
                wa_id = CASE WHEN \(fromCustomer) THEN EXCLUDED.wa_id ELSE COALESCE(contacts.wa_id, EXCLUDED.wa_id) END,
                phone = COALESCE(contacts.phone, EXCLUDED.phone),
                profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
                name = CASE WHEN contacts.name_source = 'api' THEN contacts.name
                            ELSE COALESCE(EXCLUDED.profile_name, contacts.name) END,
                name_source = CASE WHEN contacts.name_source = 'api' THEN 'api'
                                   WHEN EXCLUDED.profile_name IS NOT NULL THEN 'whatsapp'
                                   ELSE contacts.name_source END,
                user_id = COALESCE(contacts.user_id, EXCLUDED.user_id),
                source = COALESCE(contacts.source, EXCLUDED.source),
                version = contacts.version
                    + CASE WHEN contacts.name_source IS DISTINCT FROM 'api' AND EXCLUDED.profile_name IS NOT NULL
                                AND EXCLUDED.profile_name IS DISTINCT FROM contacts.name THEN 1 ELSE 0 END,
                updated_at = now()
            RETURNING match_key, id, (xmax = 0), version, name, owner_id, opted_out
            """, logger: logger)
        var out: [String: MatchedContact] = [:]
        for try await (key, id, inserted, version, name, owner, optedOut) in result.decode(
            (String, UUID, Bool, Int, String?, UUID?, Bool).self)
        {
            let changed = !inserted && before[key].map { version > $0 } == true
            out[key] = MatchedContact(
                id: id, created: inserted, version: version, name: name, ownerId: owner, optedOut: optedOut,
                nameChanged: changed)
        }
        return out
    }

    /// Username-only customers (BSUID, no wa_id) are rare: one at a time.
    static func upsertByUserId(
        _ userId: String, profileName: String?, source: JSONValue?, on conn: PostgresConnection, logger: Logger
    ) async throws -> MatchedContact {
        let sourceJSON = try source.map { try JSONCoding.text($0) }
        var before: Int?
        for try await v in try await conn.query(
            "SELECT version FROM contacts WHERE user_id = \(userId)", logger: logger
        ).decode(Int.self) { before = v }
        let rows = try await conn.query(
            """
            INSERT INTO contacts (user_id, profile_name, name, name_source, source)
            VALUES (\(userId), \(profileName), \(profileName), \(profileName == nil ? nil : "whatsapp"),
                    \(sourceJSON)::jsonb)
            ON CONFLICT (user_id) DO UPDATE SET
                profile_name = COALESCE(EXCLUDED.profile_name, contacts.profile_name),
                name = CASE WHEN contacts.name_source = 'api' THEN contacts.name
                            ELSE COALESCE(EXCLUDED.profile_name, contacts.name) END,
                name_source = CASE WHEN contacts.name_source = 'api' THEN 'api'
                                   WHEN EXCLUDED.profile_name IS NOT NULL THEN 'whatsapp'
                                   ELSE contacts.name_source END,
                source = COALESCE(contacts.source, EXCLUDED.source),
                version = contacts.version
                    + CASE WHEN contacts.name_source IS DISTINCT FROM 'api' AND EXCLUDED.profile_name IS NOT NULL
                                AND EXCLUDED.profile_name IS DISTINCT FROM contacts.name THEN 1 ELSE 0 END,
                updated_at = now()
            RETURNING id, (xmax = 0), version, name, owner_id, opted_out
            """, logger: logger)
        for try await (id, inserted, version, name, owner, optedOut) in rows.decode(
            (UUID, Bool, Int, String?, UUID?, Bool).self)
        {
            return MatchedContact(
                id: id, created: inserted, version: version, name: name, ownerId: owner, optedOut: optedOut,
                nameChanged: !inserted && before.map { version > $0 } == true)
        }
        throw StorageError.invalid("contact upsert returned no row")
    }

    static let columns = """
        id, phone, wa_id, user_id, name, name_source, profile_name, owner_id, tags, source::text, opted_out,
        opted_out_at, version, created_at, updated_at
        """

    /// Contacts whose WhatsApp number is any variant of `key` (one at most).
    public static func find(matchKey: String, on client: PostgresClient, logger: Logger) async throws -> [ContactRow] {
        let rows = try await client.query(
            "SELECT \(unescaped: columns) FROM contacts WHERE match_key = \(matchKey)", logger: logger)
        return try await decode(rows)
    }

    public static func decode(_ rows: PostgresRowSequence) async throws -> [ContactRow] {
        var out: [ContactRow] = []
        for try await row in rows { out.append(try await decode(row)) }
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

extension ContactStore {
    /// The contact on a match key, else the one a (redelivered) number change moved.
    public static func byKeyOrNumberChange(key: String, wamid: String, on conn: PostgresConnection, logger: Logger)
        async throws -> MatchedContact?
    {
        let rows = try await conn.query(
            """
            SELECT id, version, name, owner_id, opted_out FROM contacts WHERE match_key = \(key)
            UNION ALL
            SELECT c.id, c.version, c.name, c.owner_id, c.opted_out FROM contact_number_changes n
            JOIN contacts c ON c.id = n.contact_id WHERE n.wamid = \(wamid)
            LIMIT 1
            """, logger: logger)
        for try await (id, version, name, owner, optedOut) in rows.decode((UUID, Int, String?, UUID?, Bool).self) {
            return MatchedContact(
                id: id, created: false, version: version, name: name, ownerId: owner, optedOut: optedOut,
                nameChanged: false)
        }
        return nil
    }

    /// Contacts by recipient digits: the one with that wa_id beats one whose typed phone matches.
    public static func ids(waIds: [String], on conn: PostgresConnection, logger: Logger) async throws
        -> [String: UUID]
    {
        let wanted = Array(Set(waIds))
        guard !wanted.isEmpty else { return [:] }
        let rows = try await conn.query(
            """
            SELECT w, c.id FROM unnest(\(wanted)::text[]) AS t(w)
            CROSS JOIN LATERAL (
                SELECT id FROM contacts WHERE wa_id = w OR phone = '+' || w
                ORDER BY (wa_id = w) DESC NULLS LAST, created_at LIMIT 1) c
            """, logger: logger)
        var out: [String: UUID] = [:]
        for try await (waId, id) in rows.decode((String, UUID).self) { out[waId] = id }
        return out
    }
}
