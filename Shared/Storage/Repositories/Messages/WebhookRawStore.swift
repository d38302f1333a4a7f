import Foundation
import PostgresNIO

/// The archive of every raw webhook body, deduplicated by SHA-256 of its bytes.
public enum WebhookRawStore {
    public struct Item: Sendable {
        public var sha256: String
        public var body: String
        public var receivedAt: Date
        public init(sha256: String, body: String, receivedAt: Date) {
            self.sha256 = sha256
            self.body = body
            self.receivedAt = receivedAt
        }
    }

    /// Inserts the bodies not archived yet and returns the processing state of every given
    /// hash (`received` for those just inserted), so already-processed bodies are skipped. One
    /// statement for the batch, atomic on its own: no transaction around it.
    public static func archive(_ items: [Item], on client: PostgresClient, logger: Logger) async throws
        -> [String: String]
    {
        guard !items.isEmpty else { return [:] }
        let hashes = items.map(\.sha256)
        // The outer SELECT sees the table as it was before the statement: rows found there were
        // archived before; the inserted ones are `received`.
        let rows = try await client.query(
            """
            WITH added AS (
                INSERT INTO webhook_raw (sha256, body, received_at)
                SELECT * FROM unnest(\(hashes)::text[], \(items.map(\.body))::text[],
                                     \(items.map(\.receivedAt))::timestamptz[])
                ON CONFLICT (sha256) DO NOTHING
                RETURNING sha256)
            SELECT sha256, 'received' FROM added
            UNION ALL
            SELECT sha256, state FROM webhook_raw WHERE sha256 = ANY(\(hashes))
            """, logger: logger)
        var states: [String: String] = [:]
        for try await (sha, state) in rows.decode((String, String).self) { states[sha] = state }
        return states
    }

    /// `markProcessed` for many bodies in one statement.
    public static func markProcessedMany(
        _ outcomes: [(sha256: String, state: String, error: String?)], on client: PostgresClient, logger: Logger
    ) async throws {
        guard !outcomes.isEmpty else { return }
        try await client.query(
            """
            UPDATE webhook_raw w SET state = u.state, error = NULLIF(u.error, ''), processed_at = now()
            FROM unnest(\(outcomes.map(\.sha256))::text[], \(outcomes.map(\.state))::text[],
                        \(outcomes.map { $0.error ?? "" })::text[]) AS u(sha, state, error)
            WHERE w.sha256 = u.sha
            """, logger: logger)
    }

    /// `processed`, `partial` (some items rejected) or `failed`, with the reasons.
    public static func markProcessed(
        sha256: String, state: String, error: String?, on conn: PostgresConnection, logger: Logger
    ) async throws {
        try await conn.query(
            """
            UPDATE webhook_raw SET state = \(state), error = \(error), processed_at = now()
            WHERE sha256 = \(sha256)
            """, logger: logger)
    }

    public struct ArchivedRow: Sendable {
        public var id: Int64
        public var sha256: String
        public var body: String
        public var receivedAt: Date
    }

    /// Archived bodies received in [since, until), in id order after `afterId` (keyset paging).
    public static func page(
        since: Date, until: Date, afterId: Int64, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> [ArchivedRow] {
        let rows = try await client.query(
            """
            SELECT id, sha256, body, received_at FROM webhook_raw
            WHERE received_at >= \(since) AND received_at < \(until) AND id > \(afterId)
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var out: [ArchivedRow] = []
        for try await (id, sha, body, at) in rows.decode((Int64, String, String, Date).self) {
            out.append(ArchivedRow(id: id, sha256: sha, body: body, receivedAt: at))
        }
        return out
    }
}
