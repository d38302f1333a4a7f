import CRdKafka
import Synchronization

struct TopicPartition: Hashable, Comparable {
    var topic: String
    var partition: Int32

    static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// What `KafkaConsumer.lag()` needs beyond librdkafka's cached positions and watermarks,
/// collected on the consumer's thread after each poll so that `lag()` itself never waits:
/// - the assignment (`rd_kafka_assignment` is a round trip to librdkafka's main thread);
/// - the committed offset of assigned partitions from which the application got no record
///   yet, where `rd_kafka_position` only says "unknown".
final class ConsumerPositions: Sendable {
    private struct State {
        var assignment: [TopicPartition] = []
        /// Committed offsets (-1: none) of assigned partitions without an application position.
        var committed: [TopicPartition: Int64] = [:]
        var lastCommittedQuery: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private static let queryInterval: Duration = .seconds(1)
    private static let queryTimeoutMs: Int32 = 1000

    /// On the consumer's thread, after a poll. Asks the broker (at most once a second, one
    /// round trip) only for newly assigned partitions without a position: their committed
    /// offset can't change while they stay assigned and unconsumed, since only this member
    /// commits them.
    func refresh(_ handle: RdKafkaHandle) {
        let rk = handle.pointer
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? = nil
        guard rd_kafka_assignment(rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment = list else { return }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        _ = rd_kafka_position(rk, assignment)
        let withoutPosition = Set(assignment.elements.filter { $0.offset < 0 }.map(TopicPartition.init))

        let now = ContinuousClock.now
        let missing: Set<TopicPartition> = state.withLock { state in
            state.assignment = assignment.elements.map(TopicPartition.init).sorted()
            // Forget partitions that were revoked or got a position of their own.
            state.committed = state.committed.filter { withoutPosition.contains($0.key) }
            let missing = withoutPosition.subtracting(state.committed.keys)
            let due = state.lastCommittedQuery.map { now - $0 >= Self.queryInterval } ?? true
            guard !missing.isEmpty && due else { return [] }
            state.lastCommittedQuery = now
            return missing
        }
        guard !missing.isEmpty else { return }

        let query = TopicPartitionList(missing)
        // On failure (e.g. timeout) the next due refresh asks again.
        guard rd_kafka_committed(rk, query.pointer, Self.queryTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        state.withLock { state in
            for element in query.pointer.elements where element.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                state.committed[TopicPartition(element)] = max(element.offset, -1)
            }
        }
    }

    /// Non-blocking: positions and watermarks are read from librdkafka's local state. The
    /// handle must stay alive during the call (the consumer holds its lock).
    func lag(_ handle: RdKafkaHandle) -> [PartitionLag] {
        let (assignment, committed) = state.withLock { ($0.assignment, $0.committed) }
        guard !assignment.isEmpty else { return [] }
        let rk = handle.pointer
        let positions = TopicPartitionList(assignment)
        _ = rd_kafka_position(rk, positions.pointer)

        return positions.pointer.elements.map { element in
            let key = TopicPartition(element)
            var low: Int64 = -1
            var high: Int64 = -1
            if rd_kafka_get_watermark_offsets(rk, key.topic, key.partition, &low, &high)
                != RD_KAFKA_RESP_ERR_NO_ERROR
            {
                (low, high) = (-1, -1)
            }
            let position = element.offset >= 0 ? element.offset : committed[key] ?? -1
            return PartitionLag.compute(
                topic: key.topic, partition: key.partition, low: low, high: high, position: position)
        }
    }
}

extension PartitionLag {
    /// librdkafka reports "unknown" as negative logical offsets (e.g. -1001 INVALID).
    static func compute(topic: String, partition: Int32, low: Int64, high: Int64, position: Int64) -> PartitionLag {
        let high = high >= 0 ? high : -1
        var position = position >= 0 ? position : -1
        // Nothing consumed or committed yet from a partition known to be empty: caught up.
        if position < 0 && high >= 0 && low >= 0 && low == high { position = high }
        let lag = high >= 0 && position >= 0 ? max(0, high - position) : -1
        return PartitionLag(topic: topic, partition: partition, highWatermark: high, position: position, lag: lag)
    }
}

/// An owned `rd_kafka_topic_partition_list_t` (offsets unset), destroyed with this object.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: some Collection<TopicPartition>) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for key in partitions { rd_kafka_topic_partition_list_add(pointer, key.topic, key.partition) }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }
}

extension TopicPartition {
    init(_ element: rd_kafka_topic_partition_t) {
        self.init(topic: String(cString: element.topic), partition: element.partition)
    }
}

extension UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    var elements: UnsafeBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeBufferPointer(start: pointee.elems, count: Int(pointee.cnt))
    }
}
