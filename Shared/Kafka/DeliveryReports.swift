import CRdKafka
import Synchronization

/// Collects the delivery reports of one `send` call and resumes its continuation exactly
/// once, after the last record's outcome is known.
final class DeliveryTracker: Sendable {
    private struct State {
        var pending: Int
        var firstError: KafkaError?
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private let state: Mutex<State>

    init(expected: Int, continuation: CheckedContinuation<Void, any Error>) {
        state = Mutex(State(pending: expected, firstError: nil, continuation: continuation))
    }

    /// One record's outcome: `nil` means the broker acknowledged it.
    func complete(_ error: KafkaError?) {
        let finished: (CheckedContinuation<Void, any Error>, KafkaError?)? = state.withLock { state in
            if state.firstError == nil, let error { state.firstError = error }
            state.pending -= 1
            guard state.pending == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.firstError)
        }
        // Resumed outside the lock: resuming schedules the waiting task.
        guard let (continuation, error) = finished else { return }
        if let error {
            continuation.resume(throwing: error)
        } else {
            continuation.resume()
        }
    }
}

/// The records handed to librdkafka whose delivery report hasn't come yet.
///
/// Each produced record carries its tracker as the per-message opaque, retained once by
/// `register` and released once, by `delivered` (the report), by `unregister` (produce failed
/// synchronously) or by `failRemaining` (after `rd_kafka_destroy`, when no report can come any
/// more). The table is the safety net that makes the last case possible.
final class DeliveryRegistry: Sendable {
    private struct Entry {
        let tracker: DeliveryTracker
        var records: Int
    }

    private let outstanding = Mutex<[ObjectIdentifier: Entry]>([:])

    var count: Int { outstanding.withLock { $0.values.reduce(0) { $0 + $1.records } } }

    /// Returns the opaque to pass to `rd_kafka_producev`.
    func register(_ tracker: DeliveryTracker) -> UnsafeMutableRawPointer {
        outstanding.withLock { table in
            table[ObjectIdentifier(tracker), default: Entry(tracker: tracker, records: 0)].records += 1
        }
        return Unmanaged.passRetained(tracker).toOpaque()
    }

    /// Produce failed synchronously: librdkafka didn't keep the opaque.
    func unregister(_ opaque: UnsafeMutableRawPointer) {
        let tracker = Unmanaged<DeliveryTracker>.fromOpaque(opaque).takeRetainedValue()
        remove(tracker)
    }

    /// The delivery report of one record.
    func delivered(_ opaque: UnsafeMutableRawPointer, error: KafkaError?) {
        let tracker = Unmanaged<DeliveryTracker>.fromOpaque(opaque).takeRetainedValue()
        remove(tracker)
        tracker.complete(error)
    }

    /// Only after `rd_kafka_destroy` returned: fails and releases whatever never got a report.
    func failRemaining(with error: KafkaError) {
        let remaining = outstanding.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for entry in remaining {
            for _ in 0..<entry.records {
                Unmanaged.passUnretained(entry.tracker).release()
                entry.tracker.complete(error)
            }
        }
    }

    private func remove(_ tracker: DeliveryTracker) {
        outstanding.withLock { table in
            let id = ObjectIdentifier(tracker)
            guard var entry = table[id] else { return }
            entry.records -= 1
            table[id] = entry.records == 0 ? nil : entry
        }
    }
}

/// `dr_msg_cb`: runs on the producer's poll thread, inside `rd_kafka_poll`/`rd_kafka_flush`.
func librdkafkaDeliveryReport(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message, let opaque, let messageOpaque = message.pointee._private else { return }
    let error: KafkaError?
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        error = nil
    } else {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
        error = KafkaError(message.pointee.err, "delivery to \(topic) failed")
    }
    ClientContext.from(opaque).deliveries.delivered(messageOpaque, error: error)
}
