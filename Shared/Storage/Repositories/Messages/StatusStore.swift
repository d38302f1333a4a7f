import CRMCore
import Foundation
import PostgresNIO
import WireModels

/// Delivery statuses: every distinct event kept once in history, and the message's current
/// status moved forward only, by an atomic conditional UPDATE (ranks: `DeliveryStatus`).
public enum StatusStore {
    /// Serializes, per wamid, recording a status and storing its message until the transaction
    /// ends. Without it a status and the message row committing at the same moment could miss
    /// each other and the status would stay in history only.
    public static func lock(wamid: String, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query("SELECT pg_advisory_xact_lock(hashtext(\(wamid)))", logger: logger)
    }

    /// `lock` for many wamids in one statement, in wamid order: every multi-wamid transaction
    /// (the sender's batch, the reporter's batch) takes them in that order, so they cannot deadlock.
    public static func lock(wamids: [String], on conn: PostgresConnection, logger: Logger) async throws {
        guard !wamids.isEmpty else { return }
        try await conn.query(
            """
            SELECT count(pg_advisory_xact_lock(hashtext(w)))
            FROM (SELECT DISTINCT w FROM unnest(\(wamids)::text[]) AS t(w) ORDER BY w) ordered
            """, logger: logger)
    }

    /// Keeps the event in history; returns false when it was already there (a redelivery).
    /// Takes the wamid's lock (see `lock`).
    @discardableResult
    public static func record(_ s: StatusUpdate, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        try await lock(wamid: s.wamid, on: conn, logger: logger)
        let errors = s.errors.isEmpty ? nil : try JSONCoding.text(s.errors)
        let conversation = try s.conversation.map { try JSONCoding.text($0) }
        let pricing = try s.pricing.map { try JSONCoding.text($0) }
        let rows = try await conn.query(
            """
            INSERT INTO message_status_events (event_id, wamid, status, occurred_at, error_code, errors, recipient_id,
                                               conversation, pricing, biz_opaque_callback_data)
            VALUES (\(s.eventId), \(s.wamid), \(s.status), \(s.timestamp), \(s.errors.first?.code), \(errors)::jsonb,
                    \(s.recipientId), \(conversation)::jsonb, \(pricing)::jsonb, \(s.bizOpaqueCallbackData))
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// What the reporter does with one `wa.status` event: keep it in history and, only if it is
    /// new, apply it to the message. Returns whether it was new.
    @discardableResult
    public static func ingest(_ s: StatusUpdate, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        guard try await record(s, on: conn, logger: logger) else { return false }
        try await apply(
            wamid: s.wamid, status: s.status, at: s.timestamp, error: s.errors.first, on: conn, logger: logger)
        return true
    }

    /// Applies one status to the message if it exists. Safe to repeat and in any order:
    /// the current status only rises in rank, and each per-status time keeps its earliest value.
    public static func apply(
        wamid: String, status: String, at: Date, error: WhatsAppError?, on conn: PostgresConnection, logger: Logger
    ) async throws {
        guard DeliveryStatus(meta: status) != nil else { return }  // e.g. `played`: history only
        let errorJSON = try error.map { try JSONCoding.text($0) }
        try await conn.query(
            """
            UPDATE messages SET
                status_at = CASE WHEN crm_status_rank(\(status)) > COALESCE(crm_status_rank(status), -1)
                                 THEN \(at) ELSE status_at END,
                status = CASE WHEN crm_status_rank(\(status)) > COALESCE(crm_status_rank(status), -1)
                              THEN \(status) ELSE status END,
                sent_at = CASE WHEN \(status) IN ('sent', 'delivered', 'read')
                               THEN LEAST(COALESCE(sent_at, \(at)), \(at)) ELSE sent_at END,
                delivered_at = CASE WHEN \(status) IN ('delivered', 'read')
                                    THEN LEAST(COALESCE(delivered_at, \(at)), \(at)) ELSE delivered_at END,
                read_at = CASE WHEN \(status) = 'read' THEN LEAST(COALESCE(read_at, \(at)), \(at)) ELSE read_at END,
                failed_at = CASE WHEN \(status) = 'failed' THEN LEAST(COALESCE(failed_at, \(at)), \(at))
                                 ELSE failed_at END,
                last_error = CASE WHEN \(status) = 'failed' THEN COALESCE(\(errorJSON)::jsonb, last_error)
                                  ELSE last_error END
            WHERE wamid = \(wamid) AND direction = 'outbound'
            """, logger: logger)
    }

    /// Applies every status already in history to a message that has just been stored
    /// (statuses can arrive before we know the message).
    /// `applyRecorded` for many new message rows: one look-up finds the few wamids whose
    /// statuses raced ahead of their row.
    public static func applyRecorded(wamids: [String], on conn: PostgresConnection, logger: Logger) async throws {
        guard !wamids.isEmpty else { return }
        let rows = try await conn.query(
            "SELECT DISTINCT wamid FROM message_status_events WHERE wamid = ANY(\(wamids)::text[])", logger: logger)
        var early: [String] = []
        for try await wamid in rows.decode(String.self) { early.append(wamid) }
        for wamid in early.sorted() { try await applyRecorded(wamid: wamid, on: conn, logger: logger) }
    }

    public static func applyRecorded(wamid: String, on conn: PostgresConnection, logger: Logger) async throws {
        let rows = try await conn.query(
            """
            SELECT status, occurred_at, error_code, errors->0->>'title' FROM message_status_events
            WHERE wamid = \(wamid) ORDER BY id
            """, logger: logger)
        var events: [(String, Date, Int?, String?)] = []
        for try await row in rows.decode((String, Date, Int?, String?).self) { events.append(row) }
        for (status, at, code, title) in events {
            let error = code.map { WhatsAppError(code: $0, title: title, message: nil, details: nil) }
            try await apply(wamid: wamid, status: status, at: at, error: error, on: conn, logger: logger)
        }
    }
}
