import Foundation
import Logging
import Testing

@testable import Kafka

/// Unit tests on librdkafka's in-process mock cluster: no broker needed, they run everywhere.
@Suite("Kafka wrapper on the mock cluster", .serialized, .timeLimit(.minutes(2)))
struct MockClusterTests {
    let logger = TestSupport.logger()
    let cluster: KafkaMockCluster

    init() throws {
        cluster = try KafkaMockCluster(logger: TestSupport.logger())
    }

    private func producer() throws -> KafkaProducer {
        try KafkaProducer(properties: ["bootstrap.servers": cluster.bootstrapServers], logger: logger)
    }

    private func consumer(group: String, topics: [String]) throws -> KafkaConsumer {
        var config = ["bootstrap.servers": cluster.bootstrapServers, "group.id": group]
        config.merge(cluster.consumerGroupSettings) { $1 }
        return try KafkaConsumer(properties: config, topics: topics, logger: logger)
    }

    @Test func sendReturnsAfterAcknowledgementAndRecordsRoundTrip() async throws {
        let topic = TestSupport.unique("ack")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try producer()
        let headers = [KafkaHeader(key: "trace_id", value: Array("abc".utf8)), KafkaHeader(key: "empty", value: [])]
        let before = Date()
        try await producer.send(
            OutgoingRecord(topic: topic, key: Array("key".utf8), value: Array("one".utf8), headers: headers))
        try await producer.send(OutgoingRecord(topic: topic, key: nil, value: Array("two".utf8)))
        try await producer.send([])
        await producer.shutdown(timeout: .seconds(5))

        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        let records = try await TestSupport.consume(consumer, count: 2)
        await consumer.close()
        try #require(records.count == 2)
        #expect(records.map(\.offset) == [0, 1])
        #expect(records[0].topic == topic && records[0].partition == 0)
        #expect(records[0].key == Array("key".utf8))
        #expect(records[0].value == Array("one".utf8))
        #expect(records[0].headers == headers)
        #expect(records[1].key == nil)
        #expect(records[1].headers.isEmpty)
        let timestamp = try #require(records[0].timestamp)
        #expect(abs(timestamp.timeIntervalSince(before)) < 60)
    }

    @Test func sendToAnUnreachableBrokerThrowsTheTimeout() async throws {
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": "300"],
            logger: TestSupport.logger(.critical))
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(OutgoingRecord(topic: "nowhere", key: nil, value: [1, 2, 3]))
        }
        #expect(error?.name == "_MSG_TIMED_OUT")
        #expect(error?.code == -192)
        #expect(clock.now - start < .seconds(10))

        // A batch reports the first error only after every record has its outcome.
        let batchError = await #expect(throws: KafkaError.self) {
            try await producer.send(TestSupport.records(topic: "nowhere", count: 5))
        }
        #expect(batchError?.code == -192)
        await producer.shutdown(timeout: .milliseconds(100))
    }

    @Test func sendAfterShutdownThrowsAndShutdownIsIdempotent() async throws {
        let producer = try producer()
        await producer.shutdown(timeout: .seconds(1))
        await producer.shutdown(timeout: .seconds(1))
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(OutgoingRecord(topic: "t", key: nil, value: [1]))
        }
        #expect(error?.name == "_DESTROY")
    }

    @Test func shutdownPurgesWhatCannotBeDeliveredAndFailsItsSend() async throws {
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": "60000"],
            logger: TestSupport.logger(.critical))
        let send = Task { try await producer.send(OutgoingRecord(topic: "nowhere", key: nil, value: [1])) }
        try await Task.sleep(for: .milliseconds(200))
        await producer.shutdown(timeout: .milliseconds(200))
        let error = await #expect(throws: KafkaError.self) { try await send.value }
        #expect(error?.name == "_PURGE_QUEUE")
    }

    @Test func cancelledSendProducesNothing() async throws {
        let producer = try producer()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await producer.send(OutgoingRecord(topic: "t", key: nil, value: [1]))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        await producer.shutdown(timeout: .seconds(1))
    }

    @Test func pollReturnsBoundedBatchesInOrder() async throws {
        let topic = TestSupport.unique("batch")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try producer()
        try await producer.send(TestSupport.records(topic: topic, count: 50))
        await producer.shutdown(timeout: .seconds(5))

        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        let records = try await TestSupport.consume(consumer, count: 50, batch: 20)
        #expect(records.map(\.offset) == Array(0..<50))
        #expect(records.map(TestSupport.text) == (0..<50).map { "v\($0)" })
        // Nothing more: an empty poll returns [] after its timeout.
        #expect(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)).isEmpty)
        await consumer.close()
    }

    @Test func newConsumerOfTheGroupResumesAfterStoredOffsets() async throws {
        let topic = TestSupport.unique("resume")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try producer()
        try await producer.send(TestSupport.records(topic: topic, count: 10))
        await producer.shutdown(timeout: .seconds(5))
        let group = TestSupport.unique("g")

        let first = try consumer(group: group, topics: [topic])
        let all = try await TestSupport.consume(first, count: 10)
        try #require(all.count == 10)
        try first.storeOffsets(for: Array(all.prefix(6)))
        await first.close()
        await first.close()  // idempotent

        let second = try consumer(group: group, topics: [topic])
        let rest = try await TestSupport.consume(second, count: 4)
        #expect(rest.map(\.offset) == [6, 7, 8, 9])
        #expect(try await second.poll(maxRecords: 10, timeout: .milliseconds(300)).isEmpty)
        try second.storeOffsets(for: rest)
        try await second.commit()
        try await second.commit()  // nothing new stored: "no offset" is not an error
        await second.close()

        // A member that gets no record still knows its position (the committed offset).
        let third = try consumer(group: group, topics: [topic])
        try await TestSupport.waitForAssignment(third)
        let lags = try await TestSupport.pollUntilLag(third) { $0.map(\.lag) == [0] }
        #expect(lags == [PartitionLag(topic: topic, partition: 0, highWatermark: 10, position: 10, lag: 0)])
        await third.close()
    }

    @Test func recordsNotStoredAreRedeliveredAfterClose() async throws {
        let topic = TestSupport.unique("redeliver")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try producer()
        try await producer.send(TestSupport.records(topic: topic, count: 20))
        await producer.shutdown(timeout: .seconds(5))
        let group = TestSupport.unique("g")

        let first = try consumer(group: group, topics: [topic])
        let seen = try await TestSupport.consume(first, count: 20)
        try #require(seen.count == 20)
        await first.close()

        let second = try consumer(group: group, topics: [topic])
        let again = try await TestSupport.consume(second, count: 20)
        #expect(Set(again.map(TestSupport.text)) == Set(seen.map(TestSupport.text)))
        await second.close()
    }

    @Test func afterCloseStoreAndCommitAreNoOpsAndPollThrows() async throws {
        let topic = TestSupport.unique("closed")
        try cluster.createTopic(topic, partitions: 1)
        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        await consumer.close()
        let record = KafkaRecord(topic: topic, partition: 0, offset: 3, key: nil, value: [])
        try consumer.storeOffsets(for: [record])
        try await consumer.commit()
        #expect(consumer.lag().isEmpty)
        let error = await #expect(throws: KafkaError.self) {
            _ = try await consumer.poll(maxRecords: 1, timeout: .milliseconds(10))
        }
        #expect(error?.name == "_DESTROY")
    }

    @Test func cancellingAPollReturnsPromptly() async throws {
        let topic = TestSupport.unique("cancel")
        try cluster.createTopic(topic, partitions: 1)
        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        let clock = ContinuousClock()
        let start = clock.now
        let poll = Task { try await consumer.poll(maxRecords: 10, timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(300))
        poll.cancel()
        #expect(try await poll.value.isEmpty)
        #expect(clock.now - start < .seconds(3))
        await consumer.close()
    }

    @Test func storingOffsetsOfUnassignedPartitionsIsIgnored() async throws {
        let topic = TestSupport.unique("unassigned")
        try cluster.createTopic(topic, partitions: 1)
        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        let foreign = KafkaRecord(topic: "some-other-topic", partition: 5, offset: 9, key: nil, value: [])
        try consumer.storeOffsets(for: [foreign])
        await consumer.close()
    }

    @Test func lagReachesZeroOnceEverythingIsConsumed() async throws {
        let topic = TestSupport.unique("lag")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try producer()
        try await producer.send(TestSupport.records(topic: topic, count: 30))
        await producer.shutdown(timeout: .seconds(5))

        let consumer = try consumer(group: TestSupport.unique("g"), topics: [topic])
        let records = try await TestSupport.consume(consumer, count: 30, store: true)
        #expect(records.count == 30)
        let lags = consumer.lag()
        #expect(lags.map(\.partition) == [0, 1])
        #expect(lags.allSatisfy { $0.lag == 0 }, "\(lags)")
        #expect(lags.map(\.highWatermark).reduce(0, +) == 30)
        await consumer.close()
    }

    /// The mock cluster doesn't implement CreateTopics (its metadata also names no valid
    /// controller), so here the request must end with a timeout error within the bound;
    /// idempotent creation is tested against the real broker.
    @Test func adminRequestsAreBoundedByTheirTimeoutAndListTopicsWorks() async throws {
        let config = KafkaClientConfig(bootstrapServers: cluster.bootstrapServers)
        let existing = TestSupport.unique("listed")
        try cluster.createTopic(existing, partitions: 2)
        let listed = try await KafkaAdmin.listTopics(config: config, timeout: .seconds(5))
        #expect(listed.contains(existing), "\(listed)")

        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: KafkaError.self) {
            try await KafkaAdmin.createTopics(
                [TopicSpec(name: TestSupport.unique("admin"), partitions: 1, replicationFactor: 1)],
                config: config, timeout: .seconds(1), logger: TestSupport.logger(.critical))
        }
        #expect(error?.name == "_TIMED_OUT")
        #expect(clock.now - start < .seconds(4))
    }

    @Test func invalidConfigurationThrows() throws {
        #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(properties: ["no.such.property": "1"], logger: logger)
        }
        #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(
                properties: ["bootstrap.servers": cluster.bootstrapServers], topics: ["t"], logger: logger)
        }
        #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(properties: ["group.id": "g"], topics: ["t"], logger: logger)
        }
    }
}

/// Pure helpers, no cluster.
@Suite("Kafka wrapper helpers")
struct KafkaHelperTests {
    @Test func millisecondsAreClamped() {
        #expect(KafkaConfig.milliseconds(.milliseconds(1500)) == 1500)
        #expect(KafkaConfig.milliseconds(.microseconds(999)) == 0)
        #expect(KafkaConfig.milliseconds(.seconds(-3)) == 0)
        #expect(KafkaConfig.milliseconds(.seconds(Int64.max)) == Int32.max)
    }

    @Test func lagTreatsUnknownOffsetsAsUnknown() {
        let known = PartitionLag.compute(topic: "t", partition: 0, low: 0, high: 10, position: 4)
        #expect(known.lag == 6)
        let neverFetched = PartitionLag.compute(topic: "t", partition: 0, low: -1001, high: -1001, position: -1001)
        #expect(neverFetched == PartitionLag(topic: "t", partition: 0, highWatermark: -1, position: -1, lag: -1))
        let emptyPartition = PartitionLag.compute(topic: "t", partition: 0, low: 5, high: 5, position: -1001)
        #expect(emptyPartition.lag == 0 && emptyPartition.position == 5)
        let notYetConsumed = PartitionLag.compute(topic: "t", partition: 0, low: 0, high: 5, position: -1001)
        #expect(notYetConsumed.lag == -1)
    }

    @Test func libraryVersionIsReported() {
        #expect(KafkaLibrary.version.first?.isNumber == true, "\(KafkaLibrary.version)")
    }

    @Test func errorDescriptionNamesTheCode() {
        let error = KafkaError(code: -184, message: "produce to t failed")
        #expect(error.name == "_QUEUE_FULL")
        #expect(error.description.contains("_QUEUE_FULL"))
    }
}

/// The typed configuration becomes the librdkafka properties the services used to write by hand.
@Suite struct KafkaTypedConfigTests {
    @Test func consumerAndProducerPropertiesCarryTheDefaultsAndTheOperatorsOverrides() {
        let client = KafkaClientConfig(
            bootstrapServers: "b:9092", clientId: "normalizer", properties: ["security.protocol": "SSL"])
        var consumer = KafkaConsumerConfig(client: client, groupId: "crm-normalizer")
        consumer.properties = ["fetch.wait.max.ms": "50"]
        let c = consumer.librdkafkaProperties
        #expect(c["bootstrap.servers"] == "b:9092")
        #expect(c["client.id"] == "normalizer")
        #expect(c["security.protocol"] == "SSL")
        #expect(c["group.id"] == "crm-normalizer")
        #expect(c["auto.offset.reset"] == "earliest")
        #expect(c["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(c["session.timeout.ms"] == "10000")
        #expect(c["heartbeat.interval.ms"] == "3000")
        #expect(c["max.poll.interval.ms"] == "300000")
        #expect(c["fetch.wait.max.ms"] == "50", "the operator's value wins")

        var producer = KafkaProducerConfig(client: client)
        producer.messageTimeout = .milliseconds(5000)
        let p = producer.librdkafkaProperties
        #expect(p["linger.ms"] == "5")
        #expect(p["compression.type"] == "lz4")
        #expect(p["message.timeout.ms"] == "5000")
        #expect(p["group.id"] == nil)
        #expect(KafkaProducerConfig(client: client).librdkafkaProperties["message.timeout.ms"] == nil)
    }
}
