import CRdKafka
import Foundation
import Logging
import Synchronization

/// An idempotent producer whose `send` returns once the broker acknowledged the record.
///
/// A thin owner of `ProducerCore`: the poll thread retains the core, not this object, so a
/// producer that is dropped without `shutdown` still gets flushed and destroyed.
public final class KafkaProducer: Sendable {
    private let properties: [String: String]
    private let logger: Logger
    /// The live core. Replaced after a fatal error (see `replaceIfFatal`); `nil` once shut down.
    private let current: Mutex<ProducerCore?>

    /// The wrapper forces enable.idempotence=true and acks=all.
    public convenience init(_ config: KafkaProducerConfig, logger: Logger) throws {
        try self.init(properties: config.librdkafkaProperties, logger: logger)
    }

    /// From raw librdkafka properties (tests, tools).
    public init(properties config: [String: String], logger: Logger) throws {
        var properties = config
        for (key, forced) in [("enable.idempotence", "true"), ("acks", "all")] {
            if let given = properties[key], given != forced, !(key == "acks" && given == "-1") {
                logger.warning("Kafka producer: overriding \(key)=\(given) with \(forced)")
            }
            properties[key] = forced
        }
        self.properties = properties
        self.logger = logger
        current = Mutex(try Self.makeCore(properties, logger: logger))
    }

    private static func makeCore(_ properties: [String: String], logger: Logger) throws -> ProducerCore {
        let context = ClientContext(logger: logger)
        let conf = try KafkaConfig.makeConf(properties, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf, librdkafkaDeliveryReport)
        let handle = try KafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        let core = ProducerCore(handle: handle, context: context)
        core.startPollThread()
        return core
    }

    deinit {
        current.withLock { $0 }?.requestShutdown(flushTimeout: .seconds(5), waiter: nil)
    }

    /// Returns only once the broker acknowledged the record (delivery report), throws
    /// KafkaError otherwise (including message.timeout.ms expiry and queue-full).
    ///
    /// Cancellation: a task cancelled before the call throws `CancellationError` and produces
    /// nothing. Once handed to librdkafka the record may still be delivered, so the call then
    /// waits for its outcome, which message.timeout.ms bounds (and `shutdown` ends).
    public func send(_ record: OutgoingRecord) async throws {
        try await send([record])
    }

    /// Sends all (in order, so per-key order holds) and awaits all delivery reports; throws
    /// the first error after all have completed.
    public func send(_ records: [OutgoingRecord]) async throws {
        guard !records.isEmpty else { return }
        try Task.checkCancellation()
        guard let core = current.withLock({ $0 }) else { throw KafkaError.destroyed("Kafka producer") }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let tracker = DeliveryTracker(expected: records.count, continuation: continuation)
                core.produce(records, tracker: tracker)
            }
        } catch let error as KafkaError {
            replaceIfFatal(core, after: error)
            throw error
        }
    }

    /// An idempotent producer that hit a fatal error (e.g. fenced after a message timed out
    /// while the broker was unreachable) refuses every later record. A process that must keep
    /// accepting webhooks replaces it with a fresh one; only the failed sends see the error.
    private func replaceIfFatal(_ core: ProducerCore, after error: KafkaError) {
        guard core.isFatal || KafkaError.fatalProducerCodes.contains(error.code) else { return }
        let replaced: Bool = current.withLock { slot in
            guard let live = slot, live === core, let fresh = try? Self.makeCore(properties, logger: logger) else {
                return false
            }
            slot = fresh
            return true
        }
        if replaced {
            logger.error("Kafka producer: fatal error, replaced by a new producer", metadata: ["error": "\(error)"])
            core.requestShutdown(flushTimeout: .zero, waiter: nil)
        }
    }

    /// Flush outstanding records (bounded by `timeout`), stop the poll thread, destroy the
    /// handle. Records still unacknowledged then are purged and their `send` throws. Idempotent.
    public func shutdown(timeout: Duration) async {
        let last: ProducerCore? = current.withLock { slot in
            defer { slot = nil }
            return slot
        }
        guard let core = last else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            core.requestShutdown(flushTimeout: timeout, waiter: continuation)
        }
    }
}

/// Owns the producer handle and its poll thread.
final class ProducerCore: Sendable {
    private enum Lifecycle {
        case running
        case stopping(flushTimeout: Duration, waiters: [CheckedContinuation<Void, Never>])
        case stopped
    }

    private let handle: RdKafkaHandle
    private let context: ClientContext
    /// Also held while producing, so no record is enqueued after the final flush started.
    private let lifecycle = Mutex(Lifecycle.running)

    init(handle: RdKafkaHandle, context: ClientContext) {
        self.handle = handle
        self.context = context
    }

    /// librdkafka raised a fatal error on this handle: it will produce nothing more.
    var isFatal: Bool {
        rd_kafka_fatal_error(handle.pointer, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR
    }

    func startPollThread() {
        let thread = Thread { [self] in self.pollUntilShutdown() }
        thread.name = "rdkafka-producer-poll"
        thread.start()
    }

    func produce(_ records: [OutgoingRecord], tracker: DeliveryTracker) {
        let failures: [KafkaError] = lifecycle.withLock { lifecycle in
            guard case .running = lifecycle else {
                return Array(repeating: KafkaError.destroyed("Kafka producer"), count: records.count)
            }
            return records.compactMap { produceOne($0, tracker: tracker) }
        }
        for failure in failures { tracker.complete(failure) }
    }

    /// Returns the synchronous failure, if any (e.g. `_QUEUE_FULL`, `_UNKNOWN_TOPIC`, `_FATAL`).
    private func produceOne(_ record: OutgoingRecord, tracker: DeliveryTracker) -> KafkaError? {
        let opaque = context.deliveries.register(tracker)
        var headers: OpaquePointer? = nil
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                _ = header.value.withUnsafeBytes { value in
                    rd_kafka_header_add(headers, header.key, -1, value.baseAddress, value.count)
                }
            }
        }
        let error = record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                withOptionalBytes(record.key) { key in
                    crdkafka_produce(
                        handle.pointer, topic, key.baseAddress, key.count, value.baseAddress, value.count,
                        headers, opaque)
                }
            }
        }
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        // On failure librdkafka kept neither the headers nor the opaque.
        if let headers { rd_kafka_headers_destroy(headers) }
        context.deliveries.unregister(opaque)
        return KafkaError(error, "produce to \(record.topic) failed")
    }

    /// Idempotent: later callers wait for the same teardown.
    func requestShutdown(flushTimeout: Duration, waiter: CheckedContinuation<Void, Never>?) {
        let alreadyStopped: Bool = lifecycle.withLock { lifecycle in
            switch lifecycle {
            case .running:
                lifecycle = .stopping(flushTimeout: flushTimeout, waiters: waiter.map { [$0] } ?? [])
                return false
            case .stopping(let timeout, var waiters):
                if let waiter { waiters.append(waiter) }
                lifecycle = .stopping(flushTimeout: timeout, waiters: waiters)
                return false
            case .stopped:
                return true
            }
        }
        if alreadyStopped { waiter?.resume() }
    }

    /// The poll thread: serves delivery reports (and logs/errors) until shutdown, then does the
    /// whole teardown itself so that no other thread races `rd_kafka_destroy`.
    private func pollUntilShutdown() {
        let rk = handle.pointer
        var flushTimeout: Duration = .zero
        while true {
            let stopping: Duration? = lifecycle.withLock { lifecycle in
                if case .stopping(let timeout, _) = lifecycle { return timeout }
                return nil
            }
            if let stopping {
                flushTimeout = stopping
                break
            }
            rd_kafka_poll(rk, 100)
        }

        let logger = context.logger
        if rd_kafka_flush(rk, KafkaConfig.milliseconds(flushTimeout)) != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning(
                "Kafka producer: \(rd_kafka_outq_len(rk)) records not acknowledged after \(flushTimeout); purging them")
            // Purged records get a delivery report with _PURGE_QUEUE/_PURGE_INFLIGHT, which the
            // short flush below serves, so their `send` calls fail instead of hanging.
            rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            _ = rd_kafka_flush(rk, 1000)
        }
        rd_kafka_destroy(rk)
        context.deliveries.failRemaining(with: KafkaError.destroyed("Kafka producer"))

        let waiters: [CheckedContinuation<Void, Never>] = lifecycle.withLock { lifecycle in
            defer { lifecycle = .stopped }
            if case .stopping(_, let waiters) = lifecycle { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// `key == nil` becomes a null key (NULL, 0), which Kafka distinguishes from an empty one.
private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}
