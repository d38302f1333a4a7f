import CRdKafka

/// An error reported by librdkafka (or by the wrapper, using librdkafka's codes).
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// The raw `rd_kafka_resp_err_t` value: negative for client-side errors (e.g. -192
    /// `_MSG_TIMED_OUT`, -184 `_QUEUE_FULL`), positive for broker error codes.
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// librdkafka's symbolic name of `code`, e.g. `_MSG_TIMED_OUT` or `TOPIC_ALREADY_EXISTS`.
    public var name: String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: code)))
    }

    public var description: String { "KafkaError \(name) (\(code)): \(message)" }
}

extension KafkaError {
    init(_ error: rd_kafka_resp_err_t, _ context: String) {
        self.init(code: error.rawValue, message: "\(context): \(String(cString: rd_kafka_err2str(error)))")
    }

    /// Broker answers after which an idempotent producer cannot go on (fenced or epoch lost).
    static let fatalProducerCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__FATAL.rawValue, RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue,
        RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH.rawValue,
    ]

    /// Used when the client was already shut down or closed.
    static func destroyed(_ what: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "\(what) is shut down")
    }

    static func invalidArgument(_ message: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, message: message)
    }
}
