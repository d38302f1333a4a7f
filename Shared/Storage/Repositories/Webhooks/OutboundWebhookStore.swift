import Foundation
import PostgresNIO

/// An endpoint that receives CRM events, as the API shows it (the secret is write-only).
public struct OutboundWebhookRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var url: String
    public var events: [String]
    public var active: Bool
    public var description: String?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, url, events, active, description
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Endpoint registrations (the API side of outbound webhooks).
public enum OutboundWebhookStore {
    static let columns = "id, url, events, active, description, created_at, updated_at"

    /// Where an endpoint's signing secret is stored, bound into its encryption.
    public static func secretContext(_ id: UUID) -> String { "outbound_webhooks/\(id.uuidString.lowercased())/secret" }

    /// The signing secret is sealed with `box` for the new row.
    public static func create(
        url: String, events: [String], secret: String, box: SecretBox, active: Bool, description: String?,
        createdBy: String, on conn: PostgresConnection, logger: Logger
    ) async throws -> OutboundWebhookRow {
        let id = UUID()
        let sealed = Data(try box.seal(secret, context: secretContext(id)))
        let rows = try await conn.query(
            """
            INSERT INTO outbound_webhooks (id, url, events, secret_enc, active, description, created_by)
            VALUES (\(id), \(url), \(events), \(sealed), \(active), \(description), \(createdBy))
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let row = try await decode(rows).first else { throw StorageError.invalid("insert returned no row") }
        return row
    }

    /// Applies the given changes (nil = unchanged); returns the row before and after, or nil.
    /// A new `secret` is sealed with `box` (which must then be given).
    public static func update(
        id: UUID, url: String?, events: [String]?, secret: String?, box: SecretBox?, active: Bool?,
        description: String?, on conn: PostgresConnection, logger: Logger
    ) async throws -> (before: OutboundWebhookRow, after: OutboundWebhookRow)? {
        var sealed: Data?
        if let secret {
            guard let box else { throw SecretBoxError.missingKey }
            sealed = Data(try box.seal(secret, context: secretContext(id)))
        }
        let current = try await conn.query(
            "SELECT \(unescaped: columns) FROM outbound_webhooks WHERE id = \(id) FOR UPDATE", logger: logger)
        guard let before = try await decode(current).first else { return nil }
        let rows = try await conn.query(
            """
            UPDATE outbound_webhooks SET url = COALESCE(\(url), url), events = COALESCE(\(events), events),
                secret_enc = COALESCE(\(sealed), secret_enc),
                secret = CASE WHEN \(sealed)::bytea IS NULL THEN secret END, active = COALESCE(\(active), active),
                description = COALESCE(\(description), description), updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let after = try await decode(rows).first else { return nil }
        return (before, after)
    }

    public static func get(id: UUID, on client: PostgresClient, logger: Logger) async throws -> OutboundWebhookRow? {
        let rows = try await client.query(
            "SELECT \(unescaped: columns) FROM outbound_webhooks WHERE id = \(id)", logger: logger)
        return try await decode(rows).first
    }

    /// Newest first, after the keyset cursor of the previous page; also returns the cursor
    /// of this page's last row.
    public static func list(
        after cursor: KeysetCursor?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> (rows: [OutboundWebhookRow], last: KeysetCursor?) {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns), (extract(epoch FROM created_at) * 1000000)::bigint
            FROM outbound_webhooks
            WHERE (\(cursor?.micros)::bigint IS NULL
                   OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < (\(cursor?.micros), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger)
        var out: [OutboundWebhookRow] = []
        var last: KeysetCursor?
        for try await (id, url, events, active, description, created, updated, micros) in rows.decode(
            (UUID, String, [String], Bool, String?, Date, Date, Int64).self)
        {
            out.append(
                OutboundWebhookRow(
                    id: id, url: url, events: events, active: active, description: description, createdAt: created,
                    updatedAt: updated))
            last = KeysetCursor(micros: micros, id: id)
        }
        return (out, last)
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [OutboundWebhookRow] {
        var out: [OutboundWebhookRow] = []
        for try await (id, url, events, active, description, created, updated) in rows.decode(
            (UUID, String, [String], Bool, String?, Date, Date).self)
        {
            out.append(
                OutboundWebhookRow(
                    id: id, url: url, events: events, active: active, description: description, createdAt: created,
                    updatedAt: updated))
        }
        return out
    }

    /// Seals every signing secret not under `box`'s current key (and those stored in clear before
    /// encryption); returns how many. Part of `crmctl secrets rotate`.
    public static func rotateSecrets(box: SecretBox, on conn: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await conn.query(
            "SELECT id, secret, secret_enc FROM outbound_webhooks FOR UPDATE", logger: logger)
        var work: [(UUID, String)] = []
        for try await (id, clear, sealed) in rows.decode((UUID, String?, Data?).self) {
            if let sealed, box.needsRotation(Array(sealed)) {
                work.append((id, try box.open(Array(sealed), context: secretContext(id))))
            } else if sealed == nil, let clear {
                work.append((id, clear))
            }
        }
        for (id, secret) in work {
            let resealed = Data(try box.seal(secret, context: secretContext(id)))
            try await conn.query(
                "UPDATE outbound_webhooks SET secret_enc = \(resealed), secret = NULL WHERE id = \(id)", logger: logger)
        }
        return work.count
    }
}
