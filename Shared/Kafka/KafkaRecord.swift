import Foundation

/// One Kafka record header. Kafka allows null header values; they are read back as `[]`.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// A consumed record, copied out of librdkafka's message before it is destroyed, so no
/// pointer into librdkafka's memory ever escapes the wrapper.
public struct KafkaRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Create or log-append time, when the broker sent one.
    public var timestamp: Date?

    /// Public so that handler code can be unit-tested with hand-made records.
    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
        headers: [KafkaHeader] = [], timestamp: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// A record to produce. The partition is chosen by librdkafka's partitioner from the key,
/// which keeps per-key order.
public struct OutgoingRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Consumer lag of one assigned partition, as the consumer itself sees it.
public struct PartitionLag: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// High watermark carried by the last fetch response; -1 until the first fetch.
    public var highWatermark: Int64
    /// Offset of the next record the application will get; -1 until the first record
    /// (or the high watermark when the partition is known to be empty).
    public var position: Int64
    /// `highWatermark - position`, or -1 when either is still unknown.
    public var lag: Int64

    public init(topic: String, partition: Int32, highWatermark: Int64, position: Int64, lag: Int64) {
        self.topic = topic
        self.partition = partition
        self.highWatermark = highWatermark
        self.position = position
        self.lag = lag
    }
}
