import CRdKafka
import Logging

/// A topic to create.
public struct TopicSpec: Sendable {
    public var name: String
    public var partitions: Int32
    /// -1 lets the broker use its default.
    public var replicationFactor: Int16
    /// Topic configuration, e.g. `retention.ms`.
    public var config: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int16, config: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.config = config
    }
}

/// A service's admin client: one producer-type handle and one blocking thread for its whole
/// life, shared by start-up (topic creation), `/readyz` (a metadata request) and the reporter's
/// lag probe, so none of them costs a thread or a connection of its own per call.
public final class KafkaAdminClient: Sendable {
    private let executor = BlockingExecutor(name: "rdkafka-admin")
    private let client: AdminHandle
    public let config: KafkaClientConfig
    let logger: Logger

    /// Creating the handle does not block (librdkafka connects in the background).
    public init(_ config: KafkaClientConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        client = try AdminHandle(config: config.librdkafkaProperties, logger: logger)
    }

    deinit { shutdown() }

    /// Creates topics, treating "already exists" as success (idempotent), bounded by `timeout`.
    public func createTopics(_ topics: [TopicSpec], timeout: Duration) async throws {
        guard !topics.isEmpty else { return }
        let client = client
        try await executor.run { try client.createTopics(topics, timeout: timeout) }
    }

    /// Names of existing topics (metadata request), sorted; includes internal topics such as
    /// `__consumer_offsets` where the broker reports them.
    public func listTopics(timeout: Duration) async throws -> [String] {
        let client = client
        return try await executor.run { try client.topicNames(timeout: timeout) }
    }

    /// Lag of consumer groups (`GroupLagProbe`) on this client's thread. `groups`: group id →
    /// its topics. A cancelled call stops after the group it is measuring.
    public func measureLag(groups: [String: [String]], timeout: Duration) async throws -> [GroupPartitionLag] {
        var out: [GroupPartitionLag] = []
        let (properties, logger) = (config.librdkafkaProperties, logger)
        for (group, topics) in groups.sorted(by: { $0.key < $1.key }) {
            try Task.checkCancellation()
            out += try await executor.run {
                try GroupLagProbe.measureGroup(
                    group, topics: topics, config: properties, timeout: timeout, logger: logger)
            }
        }
        return out
    }

    /// Destroys the handle on its thread, then lets the thread end. Idempotent.
    public func shutdown() {
        let client = client
        executor.submit { client.destroy() }
        executor.shutdown()
    }
}

/// One-shot administration (crmctl, tests): a temporary `KafkaAdminClient`.
public enum KafkaAdmin {
    public static func createTopics(
        _ topics: [TopicSpec], config: KafkaClientConfig, timeout: Duration, logger: Logger
    ) async throws {
        let admin = try KafkaAdminClient(config, logger: logger)
        defer { admin.shutdown() }
        try await admin.createTopics(topics, timeout: timeout)
    }

    public static func listTopics(
        config: KafkaClientConfig, timeout: Duration, logger: Logger = Logger(label: "Kafka.Admin")
    ) async throws -> [String] {
        let admin = try KafkaAdminClient(config, logger: logger)
        defer { admin.shutdown() }
        return try await admin.listTopics(timeout: timeout)
    }
}

/// A producer-type handle used only for admin and metadata requests. Touched only on its
/// client's blocking thread; `destroy` runs there last.
private final class AdminHandle: @unchecked Sendable {
    let handle: RdKafkaHandle
    let context: ClientContext
    private var destroyed = false

    init(config: [String: String], logger: Logger) throws {
        context = ClientContext(logger: logger)
        let conf = try KafkaConfig.makeConf(config, context: context)
        handle = try KafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
    }

    func destroy() {
        BlockingExecutor.assertOnBlockingThread()
        guard !destroyed else { return }
        destroyed = true
        rd_kafka_destroy(handle.pointer)
    }

    func createTopics(_ topics: [TopicSpec], timeout: Duration) throws {
        BlockingExecutor.assertOnBlockingThread()
        guard !destroyed else { throw BlockingExecutor.Rejected() }
        let rk = handle.pointer
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            var errorText = [CChar](repeating: 0, count: 512)
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    spec.name, spec.partitions, Int32(spec.replicationFactor), &errorText, errorText.count)
            else {
                throw KafkaError.invalidArgument("topic \(spec.name): \(KafkaConfig.cString(errorText))")
            }
            newTopics.append(newTopic)
            for (key, value) in spec.config.sorted(by: { $0.key < $1.key }) {
                let error = rd_kafka_NewTopic_set_config(newTopic, key, value)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(error, "topic \(spec.name) config \(key)")
                }
            }
        }

        let timeoutMs = KafkaConfig.milliseconds(timeout)
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errorText, errorText.count)
        // Let the controller answer only once the topics exist, so that clients started right
        // after this call find them; bounded below the request timeout.
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs / 4 * 3, &errorText, errorText.count)

        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(rk, buffer.baseAddress, buffer.count, options, queue)
        }
        // The request timeout makes librdkafka post a result; the margin only guards against
        // waiting forever if it didn't.
        guard let event = rd_kafka_queue_poll(queue, timeoutMs.addingReportingOverflow(2000).partialValue) else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, message: "create topics timed out")
        }
        defer { rd_kafka_event_destroy(event) }
        let requestError = rd_kafka_event_error(event)
        guard requestError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                code: requestError.rawValue,
                message: "create topics: \(rd_kafka_event_error_string(event).map { String(cString: $0) } ?? "")")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError.invalidArgument("create topics: unexpected event type \(rd_kafka_event_type(event))")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        var failures: [KafkaError] = []
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let error = rd_kafka_topic_result_error(topicResult)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                context.logger.info("Created Kafka topic \(name)")
            } else if error == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                context.logger.debug("Kafka topic \(name) already exists")
            } else {
                let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
                failures.append(KafkaError(code: error.rawValue, message: "create topic \(name): \(detail)"))
            }
        }
        if let first = failures.first { throw first }
    }

    func topicNames(timeout: Duration) throws -> [String] {
        BlockingExecutor.assertOnBlockingThread()
        guard !destroyed else { throw BlockingExecutor.Rejected() }
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let error = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, KafkaConfig.milliseconds(timeout))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(error, "metadata request")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        return topics.filter { $0.err == RD_KAFKA_RESP_ERR_NO_ERROR }.map { String(cString: $0.topic) }.sorted()
    }
}
