import Foundation
import Kafka
import Logging
import ServiceKit
import Synchronization
import Testing
import WireModels

/// A handler call that never returns — what a statement PostgresNIO lost after PostgreSQL
/// closed its connection looks like (seen in the fault matrix's postgres-stop: the reporter
/// stopped for good) — is given up after the stage's hang limit, and a new consumer reads its
/// records again from the committed offsets: nothing is lost, the stage goes on.
@Suite(.timeLimit(.minutes(2)))
struct ConsumerLoopHangTests {
    /// The first call hangs (not even cancellation ends it); later calls record what they got.
    final class HangsOnce: RecordBatchHandler, Sendable {
        let calls = Mutex(0)
        let handled = Mutex<Set<String>>([])

        func handle(_ records: [KafkaRecord]) async throws {
            let call = calls.withLock {
                $0 += 1
                return $0
            }
            if call == 1 { await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in } }
            handled.withLock { seen in
                for r in records { seen.insert(String(decoding: r.value, as: UTF8.self)) }
            }
        }
    }

    @Test func aHandlerThatNeverReturnsIsGivenUpAndItsRecordsComeAgain() async throws {
        let env = try TestEnvironment.require()
        let logger = Logger(label: "hang-test")
        let topic = "hang-\(UUID().uuidString.prefix(8).lowercased())"
        let base = ["bootstrap.servers": env.kafkaBrokers]
        try await KafkaAdmin.createTopics(
            [TopicSpec(name: topic, partitions: 1, replicationFactor: 1)],
            config: KafkaClientConfig(bootstrapServers: env.kafkaBrokers), timeout: .seconds(10),
            logger: logger)
        let producer = try KafkaProducer(properties: base, logger: logger)
        let values = (0..<5).map { "record-\($0)" }
        try await producer.send(
            values.map { OutgoingRecord(topic: topic, key: Array("k".utf8), value: Array($0.utf8)) })
        let db = try await TestDatabase(env: env, prefix: "hang")
        defer { db.close() }
        let gate = StartupGate()
        gate.open()
        let handler = HangsOnce()
        let group = "hang-\(UUID().uuidString)"
        let loop = ConsumerLoop(
            stage: "hang-test",
            makeConsumer: {
                try KafkaConsumer(
                    properties: base.merging([
                        "group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": "6000",
                        "max.poll.interval.ms": "7000", "heartbeat.interval.ms": "500",
                    ]) { $1 }, topics: [topic], logger: logger)
            },
            handler: handler,
            deadLetters: DeadLetterSink(
                stage: "hang-test", topics: Topics(prefix: "hang-"), producer: producer, postgres: db.client,
                logger: logger),
            gate: gate, batchSize: 100, hangLimit: .seconds(2), logger: logger)
        let running = Task { try await loop.run() }
        defer { running.cancel() }
        try await eventually("every record handled after the hung call was given up", timeout: .seconds(60)) {
            handler.handled.withLock { $0 } == Set(values)
        }
        #expect(handler.calls.withLock { $0 } >= 2)
        running.cancel()
        _ = await running.result
        await producer.shutdown(timeout: .seconds(5))
    }
}
