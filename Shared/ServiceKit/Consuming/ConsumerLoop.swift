import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import WireModels

/// The consume → handle batch → (database commit inside the handler) → store offsets loop
/// every worker runs. Offsets are stored only after the handler returned, so a crash at any
/// point redelivers, and idempotent handlers make the redelivery harmless.
///
/// A batch that keeps failing is split: each record is retried alone, and one that still
/// fails is dead-lettered so its neighbours and the rest of the partition move on.
public struct ConsumerLoop: Service {
    let stage: String
    let makeConsumer: @Sendable () throws -> KafkaConsumer
    let handler: any RecordBatchHandler
    let deadLetters: DeadLetterSink
    let gate: StartupGate
    let batchSize: Int
    let policy: RetryPolicy
    let crashAfterCommit: Bool
    let logger: Logger
    let metrics: StageMetrics

    public init(
        stage: String, makeConsumer: @escaping @Sendable () throws -> KafkaConsumer, handler: any RecordBatchHandler,
        deadLetters: DeadLetterSink,
        gate: StartupGate, batchSize: Int, policy: RetryPolicy = RetryPolicy(), crashAfterCommit: Bool = false,
        logger: Logger
    ) {
        self.stage = stage
        self.makeConsumer = makeConsumer
        self.handler = handler
        self.deadLetters = deadLetters
        self.gate = gate
        self.batchSize = batchSize
        self.policy = policy
        self.crashAfterCommit = crashAfterCommit
        self.logger = logger
        self.metrics = StageMetrics(stage: stage)
    }

    public func run() async throws {
        // Subscribe only once the topics exist: librdkafka looks for a missing subscribed
        // topic again only at the next metadata refresh (minutes by default).
        // Leave at once on SIGTERM even while start-up still waits for Kafka or PostgreSQL.
        guard try await gate.waitUnlessShuttingDown() else { return }
        let consumer = try makeConsumer()
        logger.info("consuming", metadata: ["stage": "\(stage)"])
        var lastLagReport = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let records = try await consumer.poll(maxRecords: batchSize, timeout: .milliseconds(250))
            if !records.isEmpty {
                let started = ContinuousClock.now
                // False: shutdown interrupted the retries, so nothing may be stored.
                guard try await process(records, consumer: consumer) else { break }
                if crashAfterCommit {
                    logger.critical("fault injection: SIGKILL after database commit, before storing offsets")
                    kill(getpid(), SIGKILL)
                }
                try consumer.storeOffsets(for: records)
                metrics.batchDone(records: records, since: started)
            }
            if ContinuousClock.now - lastLagReport > .seconds(1) {
                metrics.report(lag: consumer.lag())
                lastLagReport = .now
            }
        }
        logger.info("stopping: committing stored offsets", metadata: ["stage": "\(stage)"])
        do { try await consumer.commit() } catch {
            logger.warning("final commit failed", metadata: ["error": "\(error)"])
        }
        await consumer.close()
    }

    /// Returns false when shutdown interrupted the retries (nothing may be stored then).
    func process(_ records: [KafkaRecord], consumer: KafkaConsumer) async throws -> Bool {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await handler.handle(records)
                return true
            } catch {
                metrics.retried.increment()
                logger.warning(
                    "batch failed",
                    metadata: [
                        "stage": "\(stage)", "records": "\(records.count)", "attempt": "\(attempt)",
                        "error": "\(error)",
                    ])
                if attempt >= policy.batchAttempts { break }
                guard await pause(policy.delay(afterAttempt: attempt)) else { return false }
            }
        }
        for record in records {
            guard try await processAlone(record) else { return false }
        }
        return true
    }

    func processAlone(_ record: KafkaRecord) async throws -> Bool {
        var lastError: any Error = CancellationError()
        for attempt in 1...policy.recordAttempts {
            do {
                try await handler.handle([record])
                return true
            } catch {
                lastError = error
                if attempt < policy.recordAttempts {
                    metrics.retried.increment()
                    guard await pause(policy.delay(afterAttempt: attempt)) else { return false }
                }
            }
        }
        // Dead-lettering itself needs Kafka and PostgreSQL; while they are down keep trying
        // (never skip the record silently).
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await deadLetters.deadLetter(record, error: lastError, attempts: policy.recordAttempts)
                metrics.failed.increment()
                return true
            } catch {
                logger.error("cannot dead-letter yet", metadata: ["error": "\(error)"])
                guard await pause(policy.delay(afterAttempt: min(attempt, 6))) else { return false }
            }
        }
    }

    func pause(_ d: Duration) async -> Bool {
        try? await Task.sleep(for: d)
        return !Task.isShuttingDownGracefully && !Task.isCancelled
    }
}
