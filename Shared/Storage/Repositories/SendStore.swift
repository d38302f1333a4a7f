import Foundation
import PostgresNIO
import WireModels

/// Outbound send requests and every attempt made for them.
public enum SendStore {
    /// Registers the request once; returns its current state (an existing one is not reset).
    public static func register(_ r: OutboundRequest, on conn: PostgresConnection, logger: Logger) async throws
        -> String
    {
        let payload = String(decoding: try JSONCoding.encoder().encode(r), as: UTF8.self)
        try await conn.query(
            """
            INSERT INTO send_requests (request_id, to_wa_id, phone_number_id, payload, state, requested_by)
            VALUES (\(r.requestId), \(r.to), \(r.phoneNumberId), \(payload)::jsonb, 'sending', \(r.requestedBy))
            ON CONFLICT (request_id) DO NOTHING
            """, logger: logger)
        let rows = try await conn.query(
            "SELECT state FROM send_requests WHERE request_id = \(r.requestId)", logger: logger)
        for try await state in rows.decode(String.self) { return state }
        throw StorageError.invalid("send request \(r.requestId) vanished")
    }

    public static func attemptCount(requestId: String, on conn: PostgresConnection, logger: Logger) async throws -> Int
    {
        let rows = try await conn.query(
            "SELECT count(*)::int FROM send_attempts WHERE request_id = \(requestId)", logger: logger)
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    public static func recordAttempt(
        requestId: String, attempt: Int, httpStatus: Int?, error: WhatsAppError?, retryable: Bool, decision: String,
        newState: String, wamid: String?, on conn: PostgresConnection, logger: Logger
    ) async throws {
        let errorJSON = try error.map { String(decoding: try JSONCoding.encoder().encode($0), as: UTF8.self) }
        try await conn.query(
            """
            INSERT INTO send_attempts (request_id, attempt, http_status, error_code, error, retryable, decision)
            VALUES (\(requestId), \(attempt), \(httpStatus), \(error?.code), \(errorJSON)::jsonb, \(retryable),
                    \(decision))
            ON CONFLICT (request_id, attempt) DO NOTHING
            """, logger: logger)
        try await conn.query(
            """
            UPDATE send_requests SET state = \(newState), wamid = COALESCE(\(wamid), wamid), updated_at = now()
            WHERE request_id = \(requestId)
            """, logger: logger)
    }
}
