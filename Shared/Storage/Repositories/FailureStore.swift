import Foundation
import PostgresNIO

/// Records a stage gave up on (also sent to `wa.dlq`), replayable by an operator.
public enum FailureStore {
    public struct Failure: Sendable {
        public var stage: String
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var eventId: String?
        public var error: String
        public var attempts: Int
        public var payload: String
        public init(
            stage: String, topic: String, partition: Int32, offset: Int64, eventId: String?, error: String,
            attempts: Int, payload: String
        ) {
            self.stage = stage
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.eventId = eventId
            self.error = error
            self.attempts = attempts
            self.payload = payload
        }
    }

    public static func record(_ f: Failure, on client: PostgresClient, logger: Logger) async throws {
        try await client.query(
            """
            INSERT INTO failures (stage, topic, kafka_partition, kafka_offset, event_id, error, attempts, payload)
            VALUES (\(f.stage), \(f.topic), \(Int(f.partition)), \(f.offset), \(f.eventId), \(f.error), \(f.attempts),
                    \(f.payload))
            ON CONFLICT (stage, topic, kafka_partition, kafka_offset) DO UPDATE SET
                error = EXCLUDED.error, attempts = failures.attempts + EXCLUDED.attempts, last_at = now()
            """, logger: logger)
    }
}
