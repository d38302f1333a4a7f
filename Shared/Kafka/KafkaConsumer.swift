import CRdKafka
import Logging
import Synchronization

/// A group consumer for at-least-once processing: the caller stores offsets only after its
/// own commit (`storeOffsets`), and librdkafka's auto-commit flushes what was stored (also on
/// partition revoke and on close).
///
/// Blocking calls (`poll`, `commit`, `close`) run on the consumer's own thread, one at a time;
/// `storeOffsets` and `lag` are non-blocking and run on the caller's thread.
public final class KafkaConsumer: Sendable {
    private struct State {
        /// `close` was called: a pending `poll` returns early, later ones throw.
        var closing = false
        /// `rd_kafka_destroy` ran: the handle must not be touched any more.
        var destroyed = false
    }

    private let handle: RdKafkaHandle
    private let context: ClientContext
    private let executor: BlockingExecutor
    /// Held around every use of the handle outside the executor and around `rd_kafka_destroy`,
    /// so those never race.
    private let state = Mutex(State())
    private let positions = ConsumerPositions()
    private var logger: Logger { context.logger }

    /// The wrapper forces
    /// enable.auto.offset.store=false (offsets are stored by the caller only after its DB
    /// commit) and keeps enable.auto.commit=true unless given. auto.offset.reset defaults to
    /// `earliest` (librdkafka's default, `latest`, would skip what was produced before a new
    /// group first joined).
    public convenience init(_ config: KafkaConsumerConfig, topics: [String], logger: Logger) throws {
        try self.init(properties: config.librdkafkaProperties, topics: topics, logger: logger)
    }

    /// From raw librdkafka properties (tests, tools). They must contain group.id and
    /// bootstrap.servers.
    public init(properties config: [String: String], topics: [String], logger: Logger) throws {
        guard let groupID = config["group.id"], !groupID.isEmpty else {
            throw KafkaError.invalidArgument("Kafka consumer needs group.id")
        }
        let bootstrapKeys = ["bootstrap.servers", "metadata.broker.list", "test.mock.num.brokers"]
        guard bootstrapKeys.contains(where: { config[$0] != nil }) else {
            throw KafkaError.invalidArgument("Kafka consumer needs bootstrap.servers")
        }
        guard !topics.isEmpty else {
            throw KafkaError.invalidArgument("Kafka consumer needs at least one topic")
        }
        var properties = config
        properties["enable.auto.offset.store"] = "false"
        properties["enable.auto.commit"] = config["enable.auto.commit"] ?? "true"
        properties["auto.offset.reset"] = config["auto.offset.reset"] ?? "earliest"

        let context = ClientContext(logger: logger)
        let conf = try KafkaConfig.makeConf(properties, context: context)
        let handle = try KafkaConfig.makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        // One queue for messages, errors and rebalances, all served by rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(handle.pointer)

        let subscription = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(subscription) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(subscription, topic, RdKafkaConstants.unassignedPartition)
        }
        let error = rd_kafka_subscribe(handle.pointer, subscription)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(handle.pointer)
            throw KafkaError(error, "subscribe to \(topics)")
        }
        self.handle = handle
        self.context = context
        self.executor = BlockingExecutor(name: "rdkafka-consumer")
    }

    deinit {
        // Dropped without close(): nothing else can use the handle any more, so leave the
        // group on the consumer's own thread instead of blocking the releasing thread.
        if !state.withLock({ $0.destroyed }) {
            context.logger.warning("KafkaConsumer deinitialized without close(); closing it in the background")
            executor.submit { [handle, context] in
                KafkaConsumer.leaveGroup(handle, logger: context.logger)
                rd_kafka_destroy(handle.pointer)
            }
        }
        executor.shutdown()
    }

    // MARK: Polling

    /// Waits up to `timeout` for the first record, then drains what is already fetched, up to
    /// maxRecords. Returns [] on timeout, on cancellation and while `close` runs; throws
    /// `_DESTROY` once closed. Partition EOF and transient errors are logged, not thrown; fatal
    /// errors throw.
    ///
    /// linger: once a first record is in, keep collecting for up to this long (or until
    /// `maxRecords`), so a trickle of records makes fewer, larger batches.
    public func poll(maxRecords: Int, timeout: Duration, linger: Duration = .zero) async throws -> [KafkaRecord] {
        guard maxRecords > 0 else { return [] }
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await onConsumerThread { [self] in
                try pollBlocking(maxRecords: maxRecords, timeout: timeout, linger: linger, cancelled: cancelled)
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Waits in short slices so that cancellation and `close` are noticed quickly.
    private func pollBlocking(
        maxRecords: Int, timeout: Duration, linger: Duration, cancelled: CancellationFlag
    ) throws -> [KafkaRecord] {
        BlockingExecutor.assertOnBlockingThread()
        let (closing, destroyed) = state.withLock { ($0.closing, $0.destroyed) }
        if destroyed { throw KafkaError.destroyed("Kafka consumer") }
        if closing { return [] }
        try throwIfFatal()

        let rk = handle.pointer
        let clock = ContinuousClock()
        // Until the first record the deadline is `timeout`; from then on it is `linger` later
        // (no linger: the drain below takes what is already fetched).
        var deadline = clock.now + timeout
        var records: [KafkaRecord] = []
        records.reserveCapacity(min(maxRecords, 1024))
        repeat {
            let waitingForFirst = records.isEmpty
            let slice = min(deadline - clock.now, .milliseconds(100))
            if let message = rd_kafka_consumer_poll(rk, KafkaConfig.milliseconds(slice)) {
                take(message, into: &records)
            }
            if waitingForFirst, !records.isEmpty {
                guard linger > .zero else { break }
                deadline = clock.now + linger
            }
        } while records.count < maxRecords && clock.now < deadline && !cancelled.isSet
            && !state.withLock({ $0.closing })

        // Whatever was fetched is returned even when cancelled: librdkafka's position already
        // moved past it, so dropping it here would lose it for this session.
        while !records.isEmpty && records.count < maxRecords, let message = rd_kafka_consumer_poll(rk, 0) {
            take(message, into: &records)
        }
        if records.isEmpty { try throwIfFatal() }
        positions.refresh(handle)
        return records
    }

    /// Copies a record out (or logs an error event), then destroys the message.
    private func take(_ message: UnsafeMutablePointer<rd_kafka_message_t>, into records: inout [KafkaRecord]) {
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            records.append(KafkaRecord(copying: message))
            return
        }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "-"
        let metadata: Logger.Metadata = [
            "kafka.topic": "\(topic)", "kafka.partition": "\(message.pointee.partition)",
            "kafka.error": "\(String(cString: rd_kafka_err2name(error)))",
        ]
        if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            logger.debug("Kafka consumer reached the end of a partition", metadata: metadata)
        } else {
            // Fatal errors are raised by throwIfFatal; everything else librdkafka retries.
            logger.warning("Kafka consumer: \(String(cString: rd_kafka_message_errstr(message)))", metadata: metadata)
        }
    }

    /// Fatal errors (e.g. a fenced static member) stop the consumer for good.
    private func throwIfFatal() throws {
        var text = [CChar](repeating: 0, count: 512)
        let fatal = rd_kafka_fatal_error(handle.pointer, &text, text.count)
        if fatal != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: fatal.rawValue, message: "fatal consumer error: \(KafkaConfig.cString(text))")
        }
    }

    // MARK: Offsets

    /// Stores offset+1 of the highest offset per (topic, partition) in `records`
    /// (rd_kafka_offsets_store). Partitions no longer assigned (after a rebalance, or after
    /// close) are ignored, not errors: their records will be redelivered elsewhere.
    public func storeOffsets(for records: [KafkaRecord]) throws {
        guard !records.isEmpty else { return }
        var highest: [TopicPartition: Int64] = [:]
        for record in records {
            let key = TopicPartition(topic: record.topic, partition: record.partition)
            highest[key] = max(highest[key] ?? -1, record.offset)
        }
        try state.withLock { state in
            guard !state.destroyed else {
                logger.debug("Kafka consumer closed; not storing offsets of \(records.count) records")
                return
            }
            let list = rd_kafka_topic_partition_list_new(Int32(highest.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (key, offset) in highest {
                rd_kafka_topic_partition_list_add(list, key.topic, key.partition).pointee.offset = offset + 1
            }
            // When nothing could be stored the call returns the last partition's error; the
            // per-partition errors below tell which ones matter either way.
            let error = rd_kafka_offsets_store(handle.pointer, list)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR || Self.isNotAssigned(error) else {
                throw KafkaError(error, "store offsets")
            }
            for element in list!.elements {
                let error = element.err
                if error == RD_KAFKA_RESP_ERR_NO_ERROR { continue }
                let name = "\(String(cString: element.topic))[\(element.partition)]"
                if Self.isNotAssigned(error) {
                    logger.debug("Kafka consumer: \(name) is not assigned any more; offset not stored")
                    continue
                }
                throw KafkaError(error, "store offset of \(name)")
            }
        }
    }

    /// `_STATE`: the partition is known but not assigned to this member (any more);
    /// `_UNKNOWN_PARTITION`: this consumer never had it.
    private static func isNotAssigned(_ error: rd_kafka_resp_err_t) -> Bool {
        error == RD_KAFKA_RESP_ERR__STATE || error == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION
    }

    /// Synchronous commit of stored offsets (off the cooperative pool). "No offset" is not an
    /// error, nor is committing after `close` (which committed already).
    public func commit() async throws {
        guard !state.withLock({ $0.closing }) else { return }
        try await onConsumerThread { [self] in
            BlockingExecutor.assertOnBlockingThread()
            guard !state.withLock({ $0.destroyed }) else { return }
            let error = rd_kafka_commit(handle.pointer, nil, 0)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
                throw KafkaError(error, "commit")
            }
        }
    }

    // MARK: Closing

    /// Final commit + rd_kafka_consumer_close + destroy. Idempotent; a `poll` in progress
    /// returns early.
    public func close() async {
        state.withLock { $0.closing = true }
        // Queued behind a pending poll, which notices `closing` within one slice.
        _ = try? await onConsumerThread { [self] in
            guard !state.withLock({ $0.destroyed }) else { return }
            KafkaConsumer.leaveGroup(handle, logger: logger)
            state.withLock { state in
                rd_kafka_destroy(handle.pointer)
                state.destroyed = true
            }
        }
        executor.shutdown()
    }

    /// Runs a blocking call on the consumer's thread; after `close` that thread is gone.
    private func onConsumerThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await executor.run(body)
        } catch is BlockingExecutor.Rejected {
            throw KafkaError.destroyed("Kafka consumer")
        }
    }

    /// Commits what was stored and leaves the group (which also revokes the assignment).
    private static func leaveGroup(_ handle: RdKafkaHandle, logger: Logger) {
        BlockingExecutor.assertOnBlockingThread()
        let commitError = rd_kafka_commit(handle.pointer, nil, 0)
        if commitError != RD_KAFKA_RESP_ERR_NO_ERROR && commitError != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger.error("Kafka consumer: final commit failed: \(KafkaError(commitError, "commit"))")
        }
        let closeError = rd_kafka_consumer_close(handle.pointer)
        if closeError != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("Kafka consumer: close failed: \(KafkaError(closeError, "close"))")
        }
    }

    // MARK: Lag

    /// Current assignment's lag per partition from the consumer's own view (high watermark
    /// from the last fetch response − position), for metrics. Non-blocking: it reads
    /// librdkafka's cached values and never asks the broker (ListOffsets is wrong on Tansu).
    /// The assignment is the one seen by the last `poll`. Before the first record of a
    /// partition arrives, the position is its committed offset as learnt by `poll`, so an
    /// idle, caught-up consumer reports 0 rather than unknown (-1).
    public func lag() -> [PartitionLag] {
        state.withLock { state in
            state.destroyed ? [] : positions.lag(handle)
        }
    }
}
