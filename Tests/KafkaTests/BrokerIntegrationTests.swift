import Foundation
import Kafka
import Logging
import Testing

/// Against the real broker named by KAFKA_BROKERS (Tansu under `make test`). Not skipped when
/// it is unset: the project's test command always provides a broker, so its absence is a failure.
///
/// What these rely on: records are produced in batches, so Tansu's wrong ListOffsets(latest)
/// would show up here if the wrapper used it; `lag()` only uses the high watermark carried by
/// fetch responses, which is right on Tansu and on Apache Kafka.
@Suite("Kafka wrapper against KAFKA_BROKERS", .serialized, .timeLimit(.minutes(2)))
struct BrokerIntegrationTests {
    let logger = TestSupport.logger()

    private func brokers() throws -> String {
        let brokers = ProcessInfo.processInfo.environment["KAFKA_BROKERS"] ?? ""
        try #require(
            !brokers.isEmpty,
            "KAFKA_BROKERS is not set: these tests need a running broker (make test starts one; or run `tansu broker --listener-url tcp://127.0.0.1:PORT ...` and export KAFKA_BROKERS=127.0.0.1:PORT)"
        )
        return brokers
    }

    private func createTopic(partitions: Int32) async throws -> String {
        let name = TestSupport.unique("it")
        try await KafkaAdmin.createTopics(
            [TopicSpec(name: name, partitions: partitions, replicationFactor: -1)],
            config: KafkaClientConfig(bootstrapServers: try brokers()), timeout: .seconds(15), logger: logger)
        return name
    }

    private func consumer(group: String, topic: String) throws -> KafkaConsumer {
        try KafkaConsumer(
            properties: TestSupport.consumerConfig(bootstrap: try brokers(), group: group), topics: [topic],
            logger: logger)
    }

    private func produce(_ records: [OutgoingRecord]) async throws {
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": try brokers(), "linger.ms": "5"], logger: logger)
        // Sent in several concurrent calls so that batches and delivery reports interleave.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: records.count, by: 100) {
                let slice = Array(records[chunk..<min(chunk + 100, records.count)])
                group.addTask { try await producer.send(slice) }
            }
            try await group.waitForAll()
        }
        await producer.shutdown(timeout: .seconds(10))
    }

    @Test func brokerAnswersMetadata() async throws {
        let config = KafkaClientConfig(bootstrapServers: try brokers())
        do {
            _ = try await KafkaAdmin.listTopics(config: config, timeout: .seconds(10))
        } catch {
            Issue.record(
                "\(error). librdkafka in use: \(KafkaLibrary.version); Debian's 2.0.2 can't talk to Tansu, put a librdkafka.so.1 of 2.16 first on LD_LIBRARY_PATH"
            )
        }
    }

    @Test func createTopicsIsIdempotent() async throws {
        let config = KafkaClientConfig(bootstrapServers: try brokers())
        let specs = [
            TopicSpec(name: TestSupport.unique("it-a"), partitions: 3, replicationFactor: -1),
            TopicSpec(
                name: TestSupport.unique("it-b"), partitions: 1, replicationFactor: -1,
                config: ["retention.ms": "3600000"]),
        ]
        try await KafkaAdmin.createTopics(specs, config: config, timeout: .seconds(15), logger: logger)
        try await KafkaAdmin.createTopics(specs, config: config, timeout: .seconds(15), logger: logger)
        let listed = Set(try await KafkaAdmin.listTopics(config: config, timeout: .seconds(10)))
        #expect(Set(specs.map(\.name)).isSubset(of: listed))
    }

    @Test func thousandRecordsAreConsumedInBatchesAndLagReachesZero() async throws {
        let topic = try await createTopic(partitions: 3)
        let sent = TestSupport.records(topic: topic, count: 1000)
        try await produce(sent)

        let consumer = try consumer(group: TestSupport.unique("g"), topic: topic)
        let received = try await TestSupport.consume(
            consumer, count: 1000, within: .seconds(40), batch: 150, store: true)
        #expect(received.count == 1000)
        #expect(Set(received.map(TestSupport.text)) == Set(sent.map { String(decoding: $0.value, as: UTF8.self) }))
        #expect(Set(received.map { "\($0.partition)/\($0.offset)" }).count == 1000, "no duplicates")
        // Per-key order: within a partition, offsets only grow.
        for partition in Set(received.map(\.partition)) {
            let offsets = received.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == offsets.sorted())
        }

        let lags = consumer.lag()
        #expect(lags.count == 3)
        #expect(lags.allSatisfy { $0.lag == 0 }, "\(lags)")
        #expect(lags.map(\.highWatermark).reduce(0, +) == 1000, "\(lags)")
        try await consumer.commit()
        await consumer.close()
    }

    @Test func offsetsResumeAfterCloseAndReopen() async throws {
        let topic = try await createTopic(partitions: 1)
        try await produce(TestSupport.records(topic: topic, count: 100))
        let group = TestSupport.unique("g")

        let first = try consumer(group: group, topic: topic)
        let firstBatch = try await TestSupport.consume(first, count: 40, batch: 40)
        try #require(firstBatch.map(\.offset) == Array(0..<40))
        try first.storeOffsets(for: firstBatch)
        await first.close()

        let second = try consumer(group: group, topic: topic)
        let rest = try await TestSupport.consume(second, count: 60, store: true)
        #expect(rest.map(\.offset) == Array(40..<100))
        #expect(rest.map(TestSupport.text) == (40..<100).map { "v\($0)" })
        #expect(second.lag() == [PartitionLag(topic: topic, partition: 0, highWatermark: 100, position: 100, lag: 0)])
        await second.close()

        // Everything stored and committed by close: a third member finds nothing new.
        let third = try consumer(group: group, topic: topic)
        try await TestSupport.waitForAssignment(third)
        // No record arrives, yet lag() learns the committed position and reports 0, not unknown.
        let lags = try await TestSupport.pollUntilLag(third) { $0.map(\.lag) == [0] }
        #expect(lags == [PartitionLag(topic: topic, partition: 0, highWatermark: 100, position: 100, lag: 0)])
        await third.close()
    }

    /// CONSUMER_BATCH_LINGER_MS: a poll that got its first record keeps collecting what arrives
    /// within the linger (up to maxRecords, which ends it early); without it, the first record
    /// comes back alone.
    @Test func aLingeringPollCollectsRecordsThatArriveAfterTheFirst() async throws {
        let topic = try await createTopic(partitions: 1)
        let consumer = try consumer(group: TestSupport.unique("g"), topic: topic)
        try await TestSupport.waitForAssignment(consumer)
        let clock = ContinuousClock()

        func sendLater(_ values: [String], after delay: Duration = .milliseconds(300)) -> Task<Void, any Error> {
            Task {
                try await Task.sleep(for: delay)
                try await produce(values.map { OutgoingRecord(topic: topic, key: nil, value: Array($0.utf8)) })
            }
        }

        try await produce([OutgoingRecord(topic: topic, key: nil, value: Array("a".utf8))])
        var later = sendLater(["b", "c"])
        let lingered = try await consumer.poll(maxRecords: 10, timeout: .seconds(10), linger: .seconds(4))
        try await later.value
        #expect(lingered.map(TestSupport.text) == ["a", "b", "c"])

        try await produce([OutgoingRecord(topic: topic, key: nil, value: Array("d".utf8))])
        later = sendLater(["e", "f"])
        let started = clock.now
        let capped = try await consumer.poll(maxRecords: 2, timeout: .seconds(10), linger: .seconds(8))
        #expect(capped.map(TestSupport.text) == ["d", "e"])
        #expect(clock.now - started < .seconds(6), "maxRecords ends the linger")
        try await later.value
        #expect(try await consumer.poll(maxRecords: 10, timeout: .seconds(5)).map(TestSupport.text) == ["f"])

        try await produce([OutgoingRecord(topic: topic, key: nil, value: Array("g".utf8))])
        // Later than a fetch can be held (fetch.wait.max.ms, 500 ms by default), so "h" cannot
        // come in the same fetch response as "g".
        later = sendLater(["h"], after: .seconds(2))
        #expect(try await consumer.poll(maxRecords: 10, timeout: .seconds(10)).map(TestSupport.text) == ["g"])
        try await later.value
        await consumer.close()
    }
}
