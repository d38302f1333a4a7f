import Foundation
import Kafka
import Logging
import Testing

/// Shared helpers for the Kafka wrapper's tests.
enum TestSupport {
    static func logger(_ level: Logger.Level = .warning) -> Logger {
        var logger = Logger(label: "KafkaTests")
        logger.logLevel = level
        return logger
    }

    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased())"
    }

    /// Short group timeouts: Tansu otherwise takes ~20 s to form a group (~3 s with these).
    /// (The mock cluster brings its own: `KafkaMockCluster.consumerGroupSettings`.)
    static func consumerConfig(bootstrap: String, group: String) -> [String: String] {
        [
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "session.timeout.ms": "6000",
            "max.poll.interval.ms": "7000",
            "heartbeat.interval.ms": "500",
        ]
    }

    /// Waits until the group gave the consumer its partitions (lag() lists the assignment).
    static func waitForAssignment(_ consumer: KafkaConsumer, within: Duration = .seconds(20)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + within
        while consumer.lag().isEmpty && clock.now < deadline {
            // Polling drives the group protocol; nothing is expected here yet.
            let records = try await consumer.poll(maxRecords: 1, timeout: .milliseconds(50))
            try #require(records.isEmpty, "waitForAssignment must only be used on an empty topic or group position")
        }
        try #require(!consumer.lag().isEmpty, "no partitions assigned within \(within)")
    }

    static func records(topic: String, count: Int, prefix: String = "v") -> [OutgoingRecord] {
        (0..<count).map { index in
            OutgoingRecord(topic: topic, key: Array("k\(index % 7)".utf8), value: Array("\(prefix)\(index)".utf8))
        }
    }

    /// Polls until `count` records arrived or `within` elapsed; optionally stores each batch's
    /// offsets right away, as a service does after its database commit.
    static func consume(
        _ consumer: KafkaConsumer, count: Int, within: Duration = .seconds(30), batch: Int = 100,
        store: Bool = false
    ) async throws -> [KafkaRecord] {
        let clock = ContinuousClock()
        let deadline = clock.now + within
        var received: [KafkaRecord] = []
        while received.count < count && clock.now < deadline {
            let records = try await consumer.poll(
                maxRecords: min(batch, count - received.count), timeout: .milliseconds(500))
            #expect(records.count <= batch)
            if store { try consumer.storeOffsets(for: records) }
            received += records
        }
        return received
    }

    /// Keeps polling (which must find nothing) until `lag()` satisfies `done`; returns the last lag.
    static func pollUntilLag(
        _ consumer: KafkaConsumer, within: Duration = .seconds(10), _ done: ([PartitionLag]) -> Bool
    ) async throws -> [PartitionLag] {
        let clock = ContinuousClock()
        let deadline = clock.now + within
        while !done(consumer.lag()) && clock.now < deadline {
            #expect(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)).isEmpty)
        }
        return consumer.lag()
    }

    static func text(_ record: KafkaRecord) -> String {
        String(decoding: record.value, as: UTF8.self)
    }
}
