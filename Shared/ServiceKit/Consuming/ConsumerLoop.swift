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
    /// How long one call of the handler may take before it is given up (`max.poll.interval.ms`:
    /// past it the consumer has left its group anyway). A call that never returns — a statement
    /// PostgresNIO lost when PostgreSQL closed its connection — would otherwise stop the stage.
    let hangLimit: Duration
    let logger: Logger
    let metrics: StageMetrics

    public init(
        stage: String, makeConsumer: @escaping @Sendable () throws -> KafkaConsumer, handler: any RecordBatchHandler,
        deadLetters: DeadLetterSink,
        gate: StartupGate, batchSize: Int, batchLinger: Duration = .zero, concurrency: Int = 1,
        policy: RetryPolicy = RetryPolicy(),
        crashAfterCommit: Bool = false, outageBudget: Duration = .seconds(240), hangLimit: Duration = .seconds(300),
        logger: Logger
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
        self.hangLimit = hangLimit
        self.logger = logger
        self.metrics = StageMetrics(stage: stage)
    }

    public func run() async throws {
        // Subscribe only once the topics exist: librdkafka looks for a missing subscribed
        // topic again only at the next metadata refresh (minutes by default).
        // Leave at once on SIGTERM even while start-up still waits for Kafka or PostgreSQL.
        guard try await gate.waitUnlessShuttingDown() else { return }
        var consumer = try makeConsumer()
        logger.info("consuming", metadata: ["stage": "\(stage)"])
        var lastLagReport = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let records = try await consumer.poll(
                maxRecords: batchSize, timeout: .milliseconds(250), linger: batchLinger)
            if !records.isEmpty {
                let started = ContinuousClock.now
                let outcome = try await processByPartition(records, since: started)
                if crashAfterCommit {
                    logger.critical("fault injection: SIGKILL after database commit, before storing offsets")
                    kill(getpid(), SIGKILL)
                }
                // Only the partitions whose records are all in the database.
                if !outcome.done.isEmpty {
                    try consumer.storeOffsets(for: outcome.done)
                    metrics.batchDone(records: outcome.done, since: started)
                }
                // Shutdown interrupted the retries of some partition: its offsets stay unstored.
                if outcome.interrupted { break }
                // A handler call was given up: its records must come again, and this consumer's
                // position is already past them. A new consumer starts from the committed offsets.
                if outcome.abandoned {
                    do { try await consumer.commit() } catch {
                        logger.warning("commit failed", metadata: ["error": "\(ErrorText.describe(error))"])
                    }
                    await consumer.close()
                    consumer = try makeConsumer()
                    logger.warning("consuming again from the committed offsets", metadata: ["stage": "\(stage)"])
                }
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

    /// How a partition's share of a poll ended.
    enum Handled: Sendable {
        case done
        /// Shutdown came during its retries: nothing may be stored.
        case interrupted
        /// A handler call passed `hangLimit` and was given up: nothing may be stored.
        case abandoned
    }

    /// What became of a poll: the records handled, and whether shutdown interrupted the
    /// retries of a partition or a handler call was given up (their records are left out).
    struct PollOutcome {
        var done: [KafkaRecord] = []
        var interrupted = false
        var abandoned = false

        init() {}

        init(_ part: [KafkaRecord], _ handled: Handled) { add(part, handled) }

        mutating func add(_ part: [KafkaRecord], _ handled: Handled) {
            switch handled {
            case .done: done += part
            case .interrupted: interrupted = true
            case .abandoned: abandoned = true
            }
        }
    }

    /// Handles each partition's records (in their order) as a batch of its own, up to
    /// `concurrency` partitions at once.
    func processByPartition(_ records: [KafkaRecord], since started: ContinuousClock.Instant = .now) async throws
        -> PollOutcome
    {
        if concurrency == 1 { return PollOutcome(records, try await process(records, since: started)) }
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
        if order.count == 1 { return PollOutcome(records, try await process(records, since: started)) }
        return try await withThrowingTaskGroup(of: ([KafkaRecord], Handled).self) { group in
            var outcome = PollOutcome()
            var running = 0
            func collect() async throws {
                if let (part, handled) = try await group.next() {
                    running -= 1
                    outcome.add(part, handled)
                }
            }
            for key in order {
                if running >= concurrency { try await collect() }
                let part = parts[key] ?? []
                group.addTask { (part, try await process(part, since: started)) }
                running += 1
            }
            while running > 0 { try await collect() }
            return outcome
        }
    }

    func process(_ records: [KafkaRecord], since started: ContinuousClock.Instant = .now) async throws -> Handled {
        var attempt = 0
        var outage = 0
        while true {
            attempt += 1
            do {
                return try await handleWithinLimit(records) ? .done : .abandoned
            } catch  where InfrastructureFault.isInfrastructure(error) && ContinuousClock.now - started < outageBudget {
                attempt -= 1
                outage += 1
                guard await waitOut(error, records: records.count, round: outage) else { return .interrupted }
            } catch {
                metrics.retried.increment()
                logger.warning(
                    "batch failed",
                    metadata: [
                        "stage": "\(stage)", "records": "\(records.count)", "attempt": "\(attempt)",
                        "error": "\(ErrorText.describe(error))",
                    ])
                if attempt >= policy.batchAttempts { break }
                guard await pause(policy.delay(afterAttempt: attempt)) else { return .interrupted }
            }
        }
        for record in records {
            let handled = try await processAlone(record, since: started)
            if case .done = handled { continue }
            return handled
        }
        return .done
    }

    func processAlone(_ record: KafkaRecord, since started: ContinuousClock.Instant = .now) async throws -> Handled {
        var lastError: any Error = CancellationError()
        var attempt = 1
        var outage = 0
        while attempt <= policy.recordAttempts {
            do {
                return try await handleWithinLimit([record]) ? .done : .abandoned
            } catch  where InfrastructureFault.isInfrastructure(error) && ContinuousClock.now - started < outageBudget {
                outage += 1
                guard await waitOut(error, records: 1, round: outage) else { return .interrupted }
            } catch {
                lastError = error
                if attempt < policy.recordAttempts {
                    metrics.retried.increment()
                    guard await pause(policy.delay(afterAttempt: attempt)) else { return .interrupted }
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
                return .done
            } catch {
                logger.error("cannot dead-letter yet", metadata: ["error": "\(ErrorText.describe(error))"])
                guard await pause(policy.delay(afterAttempt: min(tries, 6))) else { return .interrupted }
            }
        }
    }

    /// One call of the handler, raced against `hangLimit`: false when it was given up (it runs
    /// on in its own task if it is merely slow, as after any eviction from the group; its
    /// writes are idempotent and its sends claimed, so the records coming again is harmless).
    func handleWithinLimit(_ records: [KafkaRecord]) async throws -> Bool {
        let (handler, limit) = (handler, hangLimit)
        let done = try await GiveUp.race(
            {
                try await handler.handle(records)
                return true
            },
            against: {
                try await Task.sleep(for: limit)
                return .success(false)
            })
        if !done {
            metrics.abandoned.increment()
            logger.error(
                "a batch's handler did not return within max.poll.interval.ms; given up, its records will come again",
                metadata: [
                    "stage": "\(stage)", "records": "\(records.count)", "limit_s": "\(limit.components.seconds)",
                    "first_offset": "\(records.first.map { "\($0.topic)/\($0.partition)@\($0.offset)" } ?? "-")",
                ])
        }
        return done
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
