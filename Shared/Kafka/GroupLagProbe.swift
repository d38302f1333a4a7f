import CRdKafka
import Foundation
import Logging

/// One partition of one consumer group, as the broker sees it.
public struct GroupPartitionLag: Sendable, Equatable {
    public var group: String
    public var topic: String
    public var partition: Int32
    /// The group's committed offset; -1 when it has committed nothing for this partition.
    public var committed: Int64
    public var highWatermark: Int64
    /// Records not yet processed by the group (from the log start when nothing is committed).
    public var lag: Int64
    /// Timestamp of the first unprocessed record, when there is one and it could be read.
    public var oldestUnprocessedAt: Date?

    /// How long the first unprocessed record has waited at `now`; 0 when the group is caught up.
    public func oldestUnprocessedAge(at now: Date) -> Double {
        guard lag > 0, let at = oldestUnprocessedAt else { return 0 }
        return max(0, now.timeIntervalSince(at))
    }
}

/// Measures consumer groups from the outside: committed offsets (OffsetFetch), end offsets
/// (ListOffsets) and the first unprocessed record's timestamp, without joining the groups.
/// This keeps working when every member of a group is down — exactly when lag matters —
/// unlike the lag each worker reports about itself.
/// Run through `KafkaAdminClient.measureLag`.
enum GroupLagProbe {
    static func measureGroup(
        _ group: String, topics: [String], config: [String: String], timeout: Duration, logger: Logger
    ) throws -> [GroupPartitionLag] {
        BlockingExecutor.assertOnBlockingThread()
        var properties = config
        properties["group.id"] = group
        // Never commits or stores anything: reading the first unprocessed record must not move the group.
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "true"
        // One small fetch per partition is enough to learn its end and first record.
        properties["max.partition.fetch.bytes"] = "65536"
        let context = ClientContext(logger: logger)
        let handle = try KafkaConfig.makeHandle(
            RD_KAFKA_CONSUMER, conf: try KafkaConfig.makeConf(properties, context: context))
        let rk = handle.pointer
        defer { rd_kafka_destroy(rk) }
        let timeoutMs = KafkaConfig.milliseconds(timeout)

        let partitions = try partitionsOf(topics, rk: rk, timeoutMs: timeoutMs)
        guard !partitions.isEmpty else { return [] }
        let committed = TopicPartitionList(partitions)
        let error = rd_kafka_committed(rk, committed.pointer, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "committed offsets of \(group)") }

        // Where the group would resume: its committed offset, else the log start
        // (auto.offset.reset=earliest). End offsets come from a fetch at that position: some
        // Kafka-compatible brokers (the local one among them) answer ListOffsets with a wrong
        // end offset when records were produced in batches, while fetch responses carry the
        // right high watermark; a fetch also yields the first unprocessed record's timestamp.
        var rows: [GroupPartitionLag] = []
        let assignment = TopicPartitionList([])
        for element in committed.pointer.elements {
            let key = TopicPartition(element)
            var low: Int64 = -1
            var high: Int64 = -1
            let w = rd_kafka_query_watermark_offsets(rk, key.topic, key.partition, &low, &high, timeoutMs)
            guard w == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(w, "offsets of \(key.topic)") }
            let position = element.offset >= 0 ? element.offset : -1
            let start = position >= 0 ? position : max(low, 0)
            rd_kafka_topic_partition_list_add(assignment.pointer, key.topic, key.partition)?.pointee.offset = start
            rows.append(
                GroupPartitionLag(
                    group: group, topic: key.topic, partition: key.partition, committed: position,
                    highWatermark: high, lag: max(0, high - start), oldestUnprocessedAt: nil))
        }
        fetchFromResumePoint(&rows, assignment: assignment, rk: rk, timeout: timeout)
        return rows
    }

    /// Assigns every partition at the group's resume point (assign, not subscribe: no group
    /// membership), reads until each partition gave its first record or reported its end,
    /// then takes the high watermarks librdkafka learnt from those fetches.
    static func fetchFromResumePoint(
        _ rows: inout [GroupPartitionLag], assignment: TopicPartitionList, rk: OpaquePointer, timeout: Duration
    ) {
        guard rd_kafka_assign(rk, assignment.pointer) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        defer { _ = rd_kafka_assign(rk, nil) }
        var index: [TopicPartition: Int] = [:]
        for (i, row) in rows.enumerated() { index[TopicPartition(topic: row.topic, partition: row.partition)] = i }
        var pending = Set(index.keys)
        let deadline = ContinuousClock.now + timeout
        while !pending.isEmpty && ContinuousClock.now < deadline {
            guard let message = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard let topic = message.pointee.rkt else { continue }
            let key = TopicPartition(
                topic: String(cString: rd_kafka_topic_name(topic)), partition: message.pointee.partition)
            guard pending.contains(key), let i = index[key] else { continue }
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                pending.remove(key)
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                pending.remove(key)
                var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let ms = rd_kafka_message_timestamp(message, &type)
                if type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ms >= 0 {
                    rows[i].oldestUnprocessedAt = Date(timeIntervalSince1970: Double(ms) / 1000)
                }
            default:
                continue
            }
        }
        for (key, i) in index {
            var low: Int64 = -1
            var high: Int64 = -1
            guard
                rd_kafka_get_watermark_offsets(rk, key.topic, key.partition, &low, &high)
                    == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
            else { continue }
            let start = assignment.pointer.elements.first { TopicPartition($0) == key }?.offset ?? 0
            rows[i].highWatermark = high
            rows[i].lag = max(0, high - start)
            if rows[i].lag == 0 { rows[i].oldestUnprocessedAt = nil }
        }
    }

    static func partitionsOf(_ topics: [String], rk: OpaquePointer, timeoutMs: Int32) throws -> [TopicPartition] {
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let error = rd_kafka_metadata(rk, 1, nil, &metadata, timeoutMs)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(error, "metadata request") }
        defer { rd_kafka_metadata_destroy(metadata) }
        let wanted = Set(topics)
        var out: [TopicPartition] = []
        for topic in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt)) {
            let name = String(cString: topic.topic)
            guard wanted.contains(name), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            for p in UnsafeBufferPointer(start: topic.partitions, count: Int(topic.partition_cnt)) {
                out.append(TopicPartition(topic: name, partition: p.id))
            }
        }
        return out.sorted()
    }
}
