/// librdkafka properties derived from the service configuration.
extension ServiceConfig {
    public var kafkaBase: [String: String] {
        var p = ["bootstrap.servers": kafkaBrokers, "client.id": service]
        for (k, v) in kafkaProperties { p[k] = v }
        return p
    }

    /// Idempotent producer; `acks=all` is forced by the wrapper. Small linger batches records
    /// from concurrent requests without adding noticeable latency.
    public func producerProperties(messageTimeoutMs: Int? = nil) -> [String: String] {
        var p = kafkaBase
        p["linger.ms"] = p["linger.ms"] ?? "2"
        p["compression.type"] = p["compression.type"] ?? "lz4"
        if let messageTimeoutMs { p["message.timeout.ms"] = String(messageTimeoutMs) }
        // Consumer-only keys from KAFKA_PROPERTIES would make librdkafka warn on a producer.
        for key in ["session.timeout.ms", "max.poll.interval.ms", "heartbeat.interval.ms"] { p[key] = nil }
        return p
    }

    public func consumerProperties(stage: String) -> [String: String] {
        var p = kafkaBase
        p["group.id"] = consumerGroup(stage)
        p["auto.offset.reset"] = p["auto.offset.reset"] ?? "earliest"
        p["partition.assignment.strategy"] = p["partition.assignment.strategy"] ?? "cooperative-sticky"
        for key in ["linger.ms", "compression.type"] { p[key] = nil }
        return p
    }
}
