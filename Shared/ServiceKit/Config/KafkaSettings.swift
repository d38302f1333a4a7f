import Kafka

/// The Kafka clients' configuration, derived from the service configuration: typed settings
/// with our defaults, and the operator's `KAFKA_PROPERTIES` sorted to the client they belong to.
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

    /// Any client's connection (admin, readiness, lag probe): KAFKA_PROPERTIES minus consumer-
    /// and producer-only keys.
    public var kafkaClient: KafkaClientConfig {
        KafkaClientConfig(
            bootstrapServers: kafkaBrokers, clientId: service,
            properties: kafkaProperties.filter {
                !Self.consumerOnly.contains($0.key) && !Self.producerOnly.contains($0.key)
            })
    }

    /// Idempotent producer (`acks=all` is forced by the wrapper).
    public func producerConfig(messageTimeout: Duration? = nil) -> KafkaProducerConfig {
        var c = KafkaProducerConfig(client: kafkaClient)
        c.messageTimeout = messageTimeout
        c.properties = kafkaProperties.filter { Self.producerOnly.contains($0.key) }
        return c
    }

    public func consumerConfig(stage: String) -> KafkaConsumerConfig {
        var c = KafkaConsumerConfig(client: kafkaClient, groupId: consumerGroup(stage))
        c.properties = kafkaProperties.filter { Self.consumerOnly.contains($0.key) }
        // The ones the service itself reads (the hang limit) are typed.
        if let ms = c.properties.removeValue(forKey: "max.poll.interval.ms").flatMap(Int64.init) {
            c.maxPollInterval = .milliseconds(ms)
        }
        return c
    }

    /// Four fifths of the consumer's `max.poll.interval.ms` (librdkafka's default: 5 minutes):
    /// how long a stage waits out an outage inside one poll (`ConsumerLoop.outageBudget`).
    public func outageBudget(stage: String) -> Duration {
        maxPollInterval(stage: stage) * 4 / 5
    }

    /// The stage's `max.poll.interval.ms` (librdkafka's default, 5 minutes, unless configured).
    public func maxPollInterval(stage: String) -> Duration {
        consumerConfig(stage: stage).maxPollInterval
    }
}
