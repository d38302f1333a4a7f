import CRdKafka
import Logging

/// librdkafka's in-process mock cluster: brokers listening on 127.0.0.1 that speak the Kafka
/// protocol (produce, fetch, metadata, consumer groups, commits), for fast unit tests that need
/// no broker. Point clients at `bootstrapServers`; the cluster lives as long as this object.
///
/// - Each handle configured with `test.mock.num.brokers` gets a private cluster of its own, so
///   producers and consumers that must see the same data share one of these instead.
/// - The mock does not implement CreateTopics (`KafkaAdmin.createTopics` times out against it):
///   create topics with `createTopic`. Producing to an unknown topic auto-creates it.
public final class KafkaMockCluster: Sendable {
    public let bootstrapServers: String
    /// Group timeouts for consumers of this mock. A member joining after another left waits
    /// about session.timeout.ms − 1 s, so they are short where this librdkafka lets the mock
    /// answer joins at once; older ones (Debian's 2.0.2) delay every join by 3 s and then need
    /// the usual 6 s session, or the JoinGroup request times out.
    public let consumerGroupSettings: [String: String]
    private let handle: RdKafkaHandle
    private let cluster: MockClusterPointer
    private let context: ClientContext

    public init(brokers: Int = 1, logger: Logger) throws {
        context = ClientContext(logger: logger)
        let conf = try KafkaConfig.makeConf(["test.mock.num.brokers": "\(brokers)"], context: context)
        handle = try KafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_handle_mock_cluster(handle.pointer) else {
            rd_kafka_destroy(handle.pointer)
            throw KafkaError.invalidArgument("this librdkafka has no mock cluster")
        }
        self.cluster = MockClusterPointer(pointer: cluster)
        let fastJoins = crdkafka_mock_set_initial_rebalance_delay(cluster, 0) != 0
        consumerGroupSettings = [
            "session.timeout.ms": fastJoins ? "2000" : "6000",
            "heartbeat.interval.ms": "500",
            "max.poll.interval.ms": "7000",
        ]
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_destroy(handle.pointer)
    }

    /// Creates a topic directly in the mock (no CreateTopics request involved).
    public func createTopic(_ name: String, partitions: Int32) throws {
        let error = rd_kafka_mock_topic_create(cluster.pointer, name, partitions, 1)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "mock create topic \(name)") }
    }
}

/// The mock cluster is driven by its own thread and its API is thread-safe, like a handle's.
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
