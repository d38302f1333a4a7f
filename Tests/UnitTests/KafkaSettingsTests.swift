import Kafka
import ServiceKit
import Testing

/// `KAFKA_PROPERTIES` reaches the client each key belongs to; the hang limit is read typed.
@Suite struct KafkaSettingsTests {
    @Test func operatorPropertiesAreSortedToTheirClients() throws {
        let config = try ServiceConfig(
            service: "crm-matcher", defaultAdminPort: 0,
            environment: [
                "KAFKA_BROKERS": "k1:9092,k2:9092",
                "KAFKA_PROPERTIES": "security.protocol=SASL_SSL,max.poll.interval.ms=60000,linger.ms=20",
            ])
        #expect(config.kafkaClient.bootstrapServers == "k1:9092,k2:9092")
        #expect(config.kafkaClient.properties == ["security.protocol": "SASL_SSL"])
        let consumer = config.consumerConfig(stage: "crm-matcher")
        #expect(consumer.maxPollInterval == .seconds(60))
        #expect(consumer.librdkafkaProperties["max.poll.interval.ms"] == "60000")
        #expect(consumer.librdkafkaProperties["linger.ms"] == nil)
        #expect(consumer.librdkafkaProperties["security.protocol"] == "SASL_SSL")
        #expect(config.outageBudget(stage: "crm-matcher") == .seconds(48))
        let producer = config.producerConfig().librdkafkaProperties
        #expect(producer["linger.ms"] == "20")
        #expect(producer["max.poll.interval.ms"] == nil)
        #expect(producer["security.protocol"] == "SASL_SSL")
    }
}
