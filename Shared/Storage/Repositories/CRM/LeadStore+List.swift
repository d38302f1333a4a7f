import Foundation
import PostgresNIO
import WireModels

public struct LeadFilter: Sendable {
    public var contactId: UUID?
    public var status: String?
    public var ownerId: UUID?

    public init(contactId: UUID? = nil, status: String? = nil, ownerId: UUID? = nil) {
        self.contactId = contactId
        self.status = status
        self.ownerId = ownerId
    }
}

/// The API's reads and writes of leads, always within the caller's `OwnerScope`.
extension LeadStore {
    /// Reopening a lead while the contact has another open one breaks the one-open-lead rule.
    public struct AnotherLeadIsOpen: Error {}

    /// Newest first; returns the page and the cursor of its last item when the page is full.
    public static func list(
        _ filter: LeadFilter, scope: OwnerScope, after cursor: KeysetCursor?, limit: Int, on client: PostgresClient,
        logger: Logger
    ) async throws -> (items: [LeadRow], next: KeysetCursor?) {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns), (extract(epoch FROM opened_at) * 1000000)::bigint FROM leads
            WHERE (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
              AND (\(filter.contactId)::uuid IS NULL OR contact_id = \(filter.contactId))
              AND (\(filter.status)::text IS NULL OR status = \(filter.status))
              AND (\(filter.ownerId)::uuid IS NULL OR owner_id = \(filter.ownerId))
              AND (\(cursor?.micros)::bigint IS NULL
                   OR ((extract(epoch FROM opened_at) * 1000000)::bigint, id) < (\(cursor?.micros), \(cursor?.id)))
            ORDER BY opened_at DESC, id DESC
            LIMIT \(limit)
            """, logger: logger)
        var items: [LeadRow] = []
        var last: KeysetCursor?
        for try await row in rows {
            let lead = try decode(row)
            items.append(lead)
            last = KeysetCursor(micros: try row.makeRandomAccess()[12].decode(Int64.self), id: lead.id)
        }
        return (items, items.count == limit ? last : nil)
    }

    public static func get(id: UUID, scope: OwnerScope, lock: Bool, on conn: PostgresConnection, logger: Logger)
        async throws -> LeadRow?
    {
        let rows = try await conn.query(
            """
            SELECT \(unescaped: columns) FROM leads
            WHERE id = \(id) AND (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// Writes status, stage and owner and bumps the version; closing sets `closed_at`, reopening
    /// clears it. Throws `AnotherLeadIsOpen` when reopening would make two open leads.
    public static func update(
        id: UUID, status: String, stage: String, ownerId: UUID?, on conn: PostgresConnection, logger: Logger
    ) async throws -> LeadRow {
        do {
            let rows = try await conn.query(
                """
                UPDATE leads SET status = \(status), stage = \(stage), owner_id = \(ownerId),
                    closed_at = CASE WHEN \(status) = 'open' THEN NULL ELSE COALESCE(closed_at, now()) END,
                    version = version + 1, updated_at = now()
                WHERE id = \(id)
                RETURNING \(unescaped: columns)
                """, logger: logger)
            guard let lead = try await decode(rows).first else { throw StorageError.invalid("lead \(id) vanished") }
            return lead
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw AnotherLeadIsOpen()
        }
    }

    static func decode(_ row: PostgresRow) throws -> LeadRow {
        let r = row.makeRandomAccess()
        let source = try r[5].decode(String?.self)
        return LeadRow(
            id: try r[0].decode(UUID.self), contactId: try r[1].decode(UUID.self),
            status: try r[2].decode(String.self), stage: try r[3].decode(String.self),
            ownerId: try r[4].decode(UUID?.self),
            source: try source.map { try JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) },
            campaignId: try r[6].decode(UUID?.self), phoneNumberId: try r[7].decode(String?.self),
            openedAt: try r[8].decode(Date.self), lastActivityAt: try r[9].decode(Date.self),
            closedAt: try r[10].decode(Date?.self), version: try r[11].decode(Int.self))
    }
}
