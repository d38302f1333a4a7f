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

/// Cluster administration on a short-lived handle. The requests block, so they run on a
/// thread of their own.
public enum KafkaAdmin {
    /// Creates topics, treating "already exists" as success (idempotent). Uses
    /// rd_kafka_CreateTopics on a temporary handle, off the cooperative pool, bounded by timeout.
    public static func createTopics(
        _ topics: [TopicSpec], config: [String: String], timeout: Duration, logger: Logger
    ) async throws {
        guard !topics.isEmpty else { return }
        try await onOwnThread {
            let client = try TemporaryClient(config: config, logger: logger)
            try client.createTopics(topics, timeout: timeout)
        }
    }

    /// Names of existing topics (metadata request), sorted; includes internal topics such as
    /// `__consumer_offsets` where the broker reports them.
    public static func listTopics(config: [String: String], timeout: Duration) async throws -> [String] {
        try await listTopics(config: config, timeout: timeout, logger: Logger(label: "Kafka.Admin"))
    }

    /// Same, with librdkafka's own log lines (e.g. connection refused) going to `logger`.
    public static func listTopics(
        config: [String: String], timeout: Duration, logger: Logger
    ) async throws -> [String] {
        try await onOwnThread {
            let client = try TemporaryClient(config: config, logger: logger)
            return try client.topicNames(timeout: timeout)
        }
    }

    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let executor = BlockingExecutor(name: "rdkafka-admin")
        defer { executor.shutdown() }
        return try await executor.run(body)
    }
}

/// A producer-type handle used only for admin and metadata requests; destroyed on deinit.
private final class TemporaryClient {
    let handle: RdKafkaHandle
    let context: ClientContext

    init(config: [String: String], logger: Logger) throws {
        context = ClientContext(logger: logger)
        let conf = try KafkaConfig.makeConf(config, context: context)
        handle = try KafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
    }

    deinit {
        rd_kafka_destroy(handle.pointer)
    }

    func createTopics(_ topics: [TopicSpec], timeout: Duration) throws {
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
