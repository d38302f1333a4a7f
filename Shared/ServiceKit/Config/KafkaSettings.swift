/// librdkafka properties derived from the service configuration.
extension ServiceConfig {
    /// Properties that only a consumer accepts (librdkafka warns when others get them).
    static let consumerOnly: Set<String> = [
        "session.timeout.ms", "max.poll.interval.ms", "heartbeat.interval.ms", "auto.offset.reset",
        "partition.assignment.strategy", "group.instance.id", "fetch.min.bytes", "fetch.wait.max.ms",
        "queued.max.messages.kbytes", "queued.min.messages", "fetch.max.bytes", "max.partition.fetch.bytes",
    ]
    static let producerOnly: Set<String> = [
        "linger.ms", "compression.type", "batch.size", "message.timeout.ms", "queue.buffering.max.messages",
        "queue.buffering.max.kbytes", "queue.buffering.max.ms", "batch.num.messages",
    ]

    /// Properties for any client (admin, readiness probes): KAFKA_PROPERTIES minus consumer- and producer-only keys.
    public var kafkaBase: [String: String] {
        var p = ["bootstrap.servers": kafkaBrokers, "client.id": service]
        for (k, v) in kafkaProperties where !Self.consumerOnly.contains(k) && !Self.producerOnly.contains(k) {
            p[k] = v
        }
        return p
    }

    /// Idempotent producer; `acks=all` is forced by the wrapper. A 5 ms linger batches records
    /// from concurrent requests: each produce request is one batch the broker stores and later
    /// scans on every fetch, and at 2,000 webhooks/s going from 2 to 5 ms cut the gateway's ack
    /// p99 from 22 to 11 ms (fewer, larger batches) for ~2 ms more at the median.
    public func producerProperties(messageTimeoutMs: Int? = nil) -> [String: String] {
        var p = kafkaBase
        p["linger.ms"] = "5"
        p["compression.type"] = "lz4"
        for (k, v) in kafkaProperties where Self.producerOnly.contains(k) { p[k] = v }
        if let messageTimeoutMs { p["message.timeout.ms"] = String(messageTimeoutMs) }
        return p
    }

    public func consumerProperties(stage: String) -> [String: String] {
        var p = kafkaBase
        p["group.id"] = consumerGroup(stage)
        p["auto.offset.reset"] = "earliest"
        p["partition.assignment.strategy"] = "cooperative-sticky"
        // A fetch returns as soon as there is data, but some brokers hold it for the full wait;
        // 100 ms keeps the added latency per stage small at the cost of a few more idle fetches.
        p["fetch.wait.max.ms"] = "100"
        // A replica that dies without leaving its group (SIGKILL, a lost node) holds its
        // partitions until the session times out: librdkafka's 45 s is 45 s of no progress for
        // their customers. 10 s (heartbeats every 3 s) is what the fault matrix's kill runs pay
        // at most; a replica stopped with SIGTERM leaves at once either way (docs/DEPLOY.md).
        p["session.timeout.ms"] = "10000"
        p["heartbeat.interval.ms"] = "3000"
        for (k, v) in kafkaProperties where Self.consumerOnly.contains(k) { p[k] = v }
        return p
    }

    /// Four fifths of the consumer's `max.poll.interval.ms` (librdkafka's default: 5 minutes):
    /// how long a stage waits out an outage inside one poll (`ConsumerLoop.outageBudget`).
    public func outageBudget(stage: String) -> Duration {
        maxPollInterval(stage: stage) * 4 / 5
    }

    /// The stage's `max.poll.interval.ms` (librdkafka's default, 5 minutes, unless configured).
    public func maxPollInterval(stage: String) -> Duration {
        .milliseconds(consumerProperties(stage: stage)["max.poll.interval.ms"].flatMap(Int.init) ?? 300_000)
    }
}
