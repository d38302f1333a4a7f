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

    /// Short group timeouts: Tansu (and the mock cluster) otherwise take ~20 s to form a group.
    static func consumerConfig(bootstrap: String, group: String) -> [String: String] {
        [
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "session.timeout.ms": "6000",
            "max.poll.interval.ms": "7000",
            "heartbeat.interval.ms": "500",
        ]
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
            let records = try await consumer.poll(maxRecords: min(batch, count - received.count), timeout: .milliseconds(500))
            #expect(records.count <= batch)
            if store { try consumer.storeOffsets(for: records) }
            received += records
        }
        return received
    }

    static func text(_ record: KafkaRecord) -> String {
        String(decoding: record.value, as: UTF8.self)
    }
}
