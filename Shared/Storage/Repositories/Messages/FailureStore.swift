import Foundation
import PostgresNIO
import WireModels

/// A record a stage gave up on, as operators list and replay it.
public struct FailureRow: Sendable, Codable, Equatable {
    public var id: Int64
    public var stage: String
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var eventId: String?
    public var error: String
    public var attempts: Int
    public var firstAt: Date
    public var lastAt: Date
    public var state: String
    public var replayedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, stage, topic, partition, offset
        case eventId = "event_id"
        case error, attempts
        case firstAt = "first_at"
        case lastAt = "last_at"
        case state
        case replayedAt = "replayed_at"
    }
}

/// Records a stage gave up on (also sent to `wa.dlq`), replayable by an operator.
public enum FailureStore {
    public struct Failure: Sendable {
        /// A failed send: partition -1 (it has no offset of its own) and an offset made from the
        /// request id, so the same request failing again (after a replay) reopens its row.
        public static func forSend(requestId: String, to: String, error: String, attempts: Int, envelope: [UInt8])
            -> Failure
        {
            let digest = Hashing.sha256Hex(Array(requestId.utf8))
            return Failure(
                stage: FailureStore.sendStage, topic: Topics.outboundRequest, partition: -1,
                offset: Int64(digest.prefix(15), radix: 16) ?? 0, key: to, eventId: requestId, error: error,
                attempts: attempts, payload: String(decoding: envelope, as: UTF8.self))
        }

        public var stage: String
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: String?
        public var eventId: String?
        public var error: String
        public var attempts: Int
        public var payload: String
        /// The record's headers (key, text value), re-attached when it is replayed.
        public var headers: [RecordHeader]
        public init(
            stage: String, topic: String, partition: Int32, offset: Int64, key: String?, eventId: String?,
            error: String, attempts: Int, payload: String, headers: [RecordHeader] = []
        ) {
            self.stage = stage
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.key = key
            self.eventId = eventId
            self.error = error
            self.attempts = attempts
            self.payload = payload
            self.headers = headers
        }
    }

    /// A Kafka header as stored with a failure (values are text: event ids, times, trace context).
    public struct RecordHeader: Sendable, Equatable, Codable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The stage of failed sends: a send that failed for good (a permanent error, or its retries
    /// used up) is a failure like a dead-lettered record, keyed by its request id.
    public static let sendStage = "send"

    /// One row per (stage, topic, partition, offset). A replayed record that fails again
    /// (`replayOf`) reopens its original row and adds its attempts, so one failure keeps one history.
    public static func record(_ f: Failure, replayOf: Int64? = nil, on client: PostgresClient, logger: Logger)
        async throws
    {
        if let replayOf {
            let rows = try await client.query(
                """
                UPDATE failures SET error = \(f.error), attempts = attempts + \(f.attempts), last_at = now(),
                    state = 'open'
                WHERE id = \(replayOf) RETURNING id
                """, logger: logger)
            for try await _ in rows { return }
        }
        let headers = f.headers.isEmpty ? nil : try JSONCoding.text(f.headers)
        try await client.query(
            """
            INSERT INTO failures (stage, topic, kafka_partition, kafka_offset, record_key, event_id, error, attempts,
                                  payload, record_headers)
            VALUES (\(f.stage), \(f.topic), \(Int(f.partition)), \(f.offset), \(f.key), \(f.eventId), \(f.error),
                    \(f.attempts), \(f.payload), \(headers)::jsonb)
            ON CONFLICT (stage, topic, kafka_partition, kafka_offset) DO UPDATE SET
                error = EXCLUDED.error, attempts = failures.attempts + EXCLUDED.attempts, last_at = now(),
                state = 'open'
            """, logger: logger)
    }

    static let columns = """
        id, stage, topic, kafka_partition, kafka_offset, event_id, error, attempts, first_at, last_at, state, replayed_at
        """

    /// Newest first; `before` is the cursor (the last id of the previous page).
    public static func list(
        stage: String?, since: Date?, state: String?, before: Int64?, limit: Int, on client: PostgresClient,
        logger: Logger
    ) async throws -> [FailureRow] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns) FROM failures
            WHERE (\(stage)::text IS NULL OR stage = \(stage))
              AND (\(since)::timestamptz IS NULL OR last_at >= \(since))
              AND (\(state)::text IS NULL OR state = \(state))
              AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        return try await decode(rows)
    }

    public static func get(id: Int64, on client: PostgresClient, logger: Logger) async throws -> FailureRow? {
        try await decode(
            try await client.query("SELECT \(unescaped: columns) FROM failures WHERE id = \(id)", logger: logger)
        )
        .first
    }

    /// What a replay re-publishes: the original topic (contract name), key, value and headers.
    public static func record(id: Int64, on client: PostgresClient, logger: Logger) async throws
        -> (topic: String, key: String?, payload: String, headers: [RecordHeader])?
    {
        let rows = try await client.query(
            "SELECT topic, record_key, payload, record_headers::text FROM failures WHERE id = \(id)", logger: logger)
        for try await (topic, key, payload, headers) in rows.decode((String, String?, String, String?).self) {
            let decoded = try headers.map { try JSONValueDecoder.decode([RecordHeader].self, from: Array($0.utf8)) }
            return (topic, key, payload, decoded ?? [])
        }
        return nil
    }

    public static func get(id: Int64, on conn: PostgresConnection, logger: Logger) async throws -> FailureRow? {
        try await decode(
            try await conn.query("SELECT \(unescaped: columns) FROM failures WHERE id = \(id)", logger: logger)
        )
        .first
    }

    public static func markReplayed(id: Int64, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query(
            "UPDATE failures SET state = 'replayed', replayed_at = now() WHERE id = \(id)", logger: logger)
    }

    /// Undoes `markReplayed` when the replay could not be published, unless the row moved on.
    public static func restore(_ row: FailureRow, on client: PostgresClient, logger: Logger) async throws {
        try await client.query(
            """
            UPDATE failures SET state = \(row.state), replayed_at = \(row.replayedAt)
            WHERE id = \(row.id) AND state = 'replayed'
            """, logger: logger)
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [FailureRow] {
        var out: [FailureRow] = []
        for try await (id, stage, topic, partition, offset, eventId, error, attempts, first, last, state, replayed)
            in rows.decode((Int64, String, String, Int, Int64, String?, String, Int, Date, Date, String, Date?).self)
        {
            out.append(
                FailureRow(
                    id: id, stage: stage, topic: topic, partition: partition, offset: offset, eventId: eventId,
                    error: error, attempts: attempts, firstAt: first, lastAt: last, state: state, replayedAt: replayed))
        }
        return out
    }
}
