import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import Storage
import WireModels

/// The consume → handle batch → (database commit inside the handler) → store offsets loop
/// every worker runs. Offsets are stored only after the handler returned, so a crash at any
/// point redelivers, and idempotent handlers make the redelivery harmless.
///
/// A batch that keeps failing is split: each record is retried alone, and one that still
/// fails is dead-lettered so its neighbours and the rest of the partition move on. An outage
/// of PostgreSQL or the broker (`InfrastructureFault`) is not the records' fault: the loop
/// waits for it without spending their attempts, so it dead-letters nothing.
///
/// Records of different partitions are independent (a key always lands on one partition), so
/// each partition's share of a poll is handled on its own, up to `concurrency` at once: the
/// database round trips of one partition's transaction overlap with the others', and a
/// partition that is retrying or dead-lettering does not hold the rest back.
public struct ConsumerLoop: Service {
    let stage: String
    let makeConsumer: @Sendable () throws -> KafkaConsumer
    let handler: any RecordBatchHandler
    let deadLetters: DeadLetterSink
    let gate: StartupGate
    let batchSize: Int
    /// How long a poll keeps collecting after its first record (`CONSUMER_BATCH_LINGER_MS`).
    let batchLinger: Duration
    let concurrency: Int
    let policy: RetryPolicy
    let crashAfterCommit: Bool
    /// How long one poll's handling may wait out an outage without spending attempts: past it
    /// the consumer would miss `max.poll.interval.ms` and leave its group mid-batch, so the
    /// records then count attempts again as before (and may be dead-lettered, replayably).
    let outageBudget: Duration
    let logger: Logger
    let metrics: StageMetrics

    public init(
        stage: String, makeConsumer: @escaping @Sendable () throws -> KafkaConsumer, handler: any RecordBatchHandler,
        deadLetters: DeadLetterSink,
        gate: StartupGate, batchSize: Int, batchLinger: Duration = .zero, concurrency: Int = 1,
        policy: RetryPolicy = RetryPolicy(),
        crashAfterCommit: Bool = false, outageBudget: Duration = .seconds(240), logger: Logger
    ) {
        self.stage = stage
        self.makeConsumer = makeConsumer
        self.handler = handler
        self.deadLetters = deadLetters
        self.gate = gate
        self.batchSize = batchSize
        self.batchLinger = batchLinger
        self.concurrency = max(1, concurrency)
        self.policy = policy
        self.crashAfterCommit = crashAfterCommit
        self.outageBudget = outageBudget
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
            let records = try await consumer.poll(
                maxRecords: batchSize, timeout: .milliseconds(250), linger: batchLinger)
            if !records.isEmpty {
                let started = ContinuousClock.now
                let (done, interrupted) = try await processByPartition(records, since: started)
                if crashAfterCommit {
                    logger.critical("fault injection: SIGKILL after database commit, before storing offsets")
                    kill(getpid(), SIGKILL)
                }
                // Only the partitions whose records are all in the database.
                if !done.isEmpty {
                    try consumer.storeOffsets(for: done)
                    metrics.batchDone(records: done, since: started)
                }
                // Shutdown interrupted the retries of some partition: its offsets stay unstored.
                if interrupted { break }
            }
            if ContinuousClock.now - lastLagReport > .seconds(1) {
                metrics.report(lag: consumer.lag())
                lastLagReport = .now
            }
        }
        logger.info("stopping: committing stored offsets", metadata: ["stage": "\(stage)"])
        do { try await consumer.commit() } catch {
            logger.warning("final commit failed", metadata: ["error": "\(ErrorText.describe(error))"])
        }
        await consumer.close()
    }

    /// Handles each partition's records (in their order) as a batch of its own, up to
    /// `concurrency` partitions at once. Returns the records handled, and whether shutdown
    /// interrupted the retries of a partition (whose records are then left out).
    func processByPartition(_ records: [KafkaRecord], since started: ContinuousClock.Instant = .now) async throws
        -> (done: [KafkaRecord], interrupted: Bool)
    {
        if concurrency == 1 {
            return try await process(records, since: started) ? (records, false) : ([], true)
        }
        struct Partition: Hashable {
            var topic: String
            var partition: Int32
        }
        var order: [Partition] = []
        var parts: [Partition: [KafkaRecord]] = [:]
        for record in records {
            let key = Partition(topic: record.topic, partition: record.partition)
            if parts[key] == nil { order.append(key) }
            parts[key, default: []].append(record)
        }
        if order.count == 1 {
            return try await process(records, since: started) ? (records, false) : ([], true)
        }
        return try await withThrowingTaskGroup(of: ([KafkaRecord], Bool).self) { group in
            var done: [KafkaRecord] = []
            var interrupted = false
            var running = 0
            func collect() async throws {
                if let (part, ok) = try await group.next() {
                    running -= 1
                    if ok { done += part } else { interrupted = true }
                }
            }
            for key in order {
                if running >= concurrency { try await collect() }
                let part = parts[key] ?? []
                group.addTask { (part, try await process(part, since: started)) }
                running += 1
            }
            while running > 0 { try await collect() }
            return (done, interrupted)
        }
    }

    /// Returns false when shutdown interrupted the retries (nothing may be stored then).
    func process(_ records: [KafkaRecord], since started: ContinuousClock.Instant = .now) async throws -> Bool {
        var attempt = 0
        var outage = 0
        while true {
            attempt += 1
            do {
                try await handler.handle(records)
                return true
            } catch  where InfrastructureFault.isInfrastructure(error) && ContinuousClock.now - started < outageBudget {
                attempt -= 1
                outage += 1
                guard await waitOut(error, records: records.count, round: outage) else { return false }
            } catch {
                metrics.retried.increment()
                logger.warning(
                    "batch failed",
                    metadata: [
                        "stage": "\(stage)", "records": "\(records.count)", "attempt": "\(attempt)",
                        "error": "\(ErrorText.describe(error))",
                    ])
                if attempt >= policy.batchAttempts { break }
                guard await pause(policy.delay(afterAttempt: attempt)) else { return false }
            }
        }
        for record in records {
            guard try await processAlone(record, since: started) else { return false }
        }
        return true
    }

    func processAlone(_ record: KafkaRecord, since started: ContinuousClock.Instant = .now) async throws -> Bool {
        var lastError: any Error = CancellationError()
        var attempt = 1
        var outage = 0
        while attempt <= policy.recordAttempts {
            do {
                try await handler.handle([record])
                return true
            } catch  where InfrastructureFault.isInfrastructure(error) && ContinuousClock.now - started < outageBudget {
                outage += 1
                guard await waitOut(error, records: 1, round: outage) else { return false }
            } catch {
                lastError = error
                if attempt < policy.recordAttempts {
                    metrics.retried.increment()
                    guard await pause(policy.delay(afterAttempt: attempt)) else { return false }
                }
                attempt += 1
            }
        }
        // Dead-lettering itself needs Kafka and PostgreSQL; while they are down keep trying
        // (never skip the record silently).
        var tries = 0
        while true {
            tries += 1
            do {
                try await deadLetters.deadLetter(record, error: lastError, attempts: policy.recordAttempts)
                metrics.failed.increment()
                return true
            } catch {
                logger.error("cannot dead-letter yet", metadata: ["error": "\(ErrorText.describe(error))"])
                guard await pause(policy.delay(afterAttempt: min(tries, 6))) else { return false }
            }
        }
    }

    /// One wait during an outage (backing off to `policy.maxDelay`); false on shutdown.
    func waitOut(_ error: any Error, records: Int, round: Int) async -> Bool {
        metrics.outageWaits.increment()
        logger.warning(
            "database or broker unavailable; waiting, the records keep their attempts",
            metadata: [
                "stage": "\(stage)", "records": "\(records)", "wait": "\(round)",
                "error": "\(ErrorText.describe(error))",
            ])
        return await pause(policy.delay(afterAttempt: min(round, 8)))
    }

    func pause(_ d: Duration) async -> Bool {
        await sleepUnlessShuttingDown(for: d)
    }
}
