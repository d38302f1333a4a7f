import CRdKafka
import Logging

/// A raw `rd_kafka_t*`. librdkafka handles are thread-safe: any `rd_kafka_*` call on one
/// handle may be made from any thread concurrently, so sharing the pointer is safe. What is
/// not safe is using it after `rd_kafka_destroy`; the owning class guards that.
struct RdKafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The librdkafka linked at run time.
public enum KafkaLibrary {
    /// e.g. "2.16.1". Debian's 2.0.2 can't talk to Tansu; log this at start-up.
    public static var version: String { String(cString: rd_kafka_version_str()) }
}

/// State shared with librdkafka's C callbacks, passed as the handle's opaque. The owning
/// client holds it strongly until after `rd_kafka_destroy`, so the unretained pointer that
/// librdkafka keeps never dangles.
final class ClientContext: Sendable {
    let logger: Logger
    let deliveries = DeliveryRegistry()

    init(logger: Logger) {
        self.logger = logger
    }

    static func from(_ opaque: UnsafeMutableRawPointer) -> ClientContext {
        Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Building `rd_kafka_conf_t` and `rd_kafka_t` from string properties.
enum KafkaConfig {
    /// Returns a conf object owned by the caller until `makeHandle` consumes it.
    static func makeConf(_ properties: [String: String], context: ClientContext) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.invalidArgument("rd_kafka_conf_new failed")
        }
        // Sorted so that a bad property is reported deterministically.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError.invalidArgument("configuration \(key): \(cString(errorText))")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, librdkafkaLog)
        rd_kafka_conf_set_error_cb(conf, librdkafkaError)
        rd_kafka_conf_set_stats_cb(conf, librdkafkaStatistics)
        return conf
    }

    /// Consumes `conf` (also on failure, unlike `rd_kafka_new`, so callers can't leak it).
    static func makeHandle(_ type: rd_kafka_type_t, conf: OpaquePointer) throws -> RdKafkaHandle {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError.invalidArgument("rd_kafka_new: \(cString(errorText))")
        }
        return RdKafkaHandle(pointer: rk)
    }

    /// Milliseconds for librdkafka's `int timeout_ms` parameters, clamped to [0, Int32.max].
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        // A negative duration can have seconds == 0 and negative attoseconds (-1.5 ms is
        // (0, -1.5e15)): it must become 0, never -1, which librdkafka reads as "wait forever".
        if seconds < 0 || attoseconds < 0 { return 0 }
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow { return Int32.max }
        let total = ms.partialValue + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: total)
    }

    static func cString(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// Routes librdkafka's own log lines (syslog levels) into the client's Logger. Called from
/// librdkafka's internal threads; Logger is thread-safe.
private func librdkafkaLog(
    _ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?
) {
    guard let rk, let opaque = rd_kafka_opaque(rk), let text else { return }
    let logger = ClientContext.from(opaque).logger
    let swiftLevel: Logger.Level =
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    logger.log(
        level: swiftLevel, "\(String(cString: text))",
        metadata: [
            "rdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")",
            "rdkafka.client": "\(String(cString: rd_kafka_name(rk)))",
        ])
}

/// Client-level errors (broker down, authentication, fatal idempotence errors). Most are
/// transient and retried by librdkafka itself; fatal ones also surface through the API calls.
private func librdkafkaError(
    _ rk: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque else { return }
    let logger = ClientContext.from(opaque).logger
    let error = rd_kafka_resp_err_t(rawValue: code)
    let isFatal = error == RD_KAFKA_RESP_ERR__FATAL
    logger.log(
        level: isFatal ? .critical : .warning, "librdkafka error: \(reason.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(error)))"])
}
