import Foundation
import PostgresNIO
import WireModels

/// A send request as the API shows it: state, wamid once accepted, and every attempt.
public struct SendState: Sendable, Codable, Equatable {
    public struct Attempt: Sendable, Codable, Equatable {
        public var attempt: Int
        public var at: Date
        public var httpStatus: Int?
        public var errorCode: Int?
        public var retryable: Bool
        public var decision: String
        enum CodingKeys: String, CodingKey {
            case attempt, at
            case httpStatus = "http_status"
            case errorCode = "error_code"
            case retryable, decision
        }
    }

    public var requestId: String
    public var state: String
    public var to: String
    public var wamid: String?
    public var attempts: [Attempt]
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id"
        case state, to, wamid, attempts
        case createdAt = "created_at"
    }
}

/// Outbound send requests and every attempt made for them.
public enum SendStore {
    /// Who made the request with this id, if it exists.
    public static func requester(requestId: String, on client: PostgresClient, logger: Logger) async throws -> String? {
        let rows = try await client.query(
            "SELECT coalesce(requested_by, '') FROM send_requests WHERE request_id = \(requestId)", logger: logger)
        for try await who in rows.decode(String.self) { return who }
        return nil
    }

    public static func get(requestId: String, on client: PostgresClient, logger: Logger) async throws -> SendState? {
        try await client.withConnection { conn in
            let rows = try await conn.query(
                """
                SELECT request_id, state, to_wa_id, wamid, created_at FROM send_requests
                WHERE request_id = \(requestId)
                """, logger: logger)
            var found: SendState?
            for try await (id, state, to, wamid, created) in rows.decode((String, String, String, String?, Date).self) {
                found = SendState(
                    requestId: id, state: state, to: "+" + to, wamid: wamid, attempts: [], createdAt: created)
            }
            guard var send = found else { return nil }
            let attempts = try await conn.query(
                """
                SELECT attempt, at, http_status, error_code, retryable, decision FROM send_attempts
                WHERE request_id = \(requestId) ORDER BY attempt
                """, logger: logger)
            for try await (n, at, http, code, retryable, decision) in attempts.decode(
                (Int, Date, Int?, Int?, Bool, String).self)
            {
                send.attempts.append(
                    .init(
                        attempt: n, at: at, httpStatus: http, errorCode: code, retryable: retryable, decision: decision)
                )
            }
            return send
        }
    }

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
