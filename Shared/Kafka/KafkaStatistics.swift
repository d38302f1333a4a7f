import CRdKafka
import Foundation
import Logging

/// librdkafka's statistics (`statistics.interval.ms` in KAFKA_PROPERTIES), boiled down to what
/// explains a slow acknowledgement: per broker, the request round trip (`rtt`) and how long
/// records waited in the client's queue before a request took them (`int_latency`). Logged at
/// info as "kafka broker latency", one line per broker per interval; off unless the interval is set.
public struct BrokerLatency: Sendable, Equatable {
    public var client: String
    public var broker: String
    /// Requests sent since the client started.
    public var requests: Int
    public var rttP50Ms: Double
    public var rttP99Ms: Double
    public var queueP50Ms: Double
    public var queueP99Ms: Double

    /// The brokers of one statistics document (bootstrap and internal entries are skipped).
    public static func parse(_ json: [UInt8]) -> [BrokerLatency] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let brokers = root["brokers"] as? [String: Any]
        else { return [] }
        let client = root["client_id"] as? String ?? "-"
        func ms(_ window: Any?, _ key: String) -> Double {
            ((window as? [String: Any])?[key] as? NSNumber).map { $0.doubleValue / 1000 } ?? .nan
        }
        return brokers.values.compactMap { value -> BrokerLatency? in
            guard let b = value as? [String: Any], let node = (b["nodeid"] as? NSNumber)?.intValue, node >= 0 else {
                return nil
            }
            return BrokerLatency(
                client: client, broker: b["name"] as? String ?? "\(node)",
                requests: (b["tx"] as? NSNumber)?.intValue ?? 0,
                rttP50Ms: ms(b["rtt"], "p50"), rttP99Ms: ms(b["rtt"], "p99"),
                queueP50Ms: ms(b["int_latency"], "p50"), queueP99Ms: ms(b["int_latency"], "p99"))
        }.sorted { $0.broker < $1.broker }
    }

    var metadata: Logger.Metadata {
        func f(_ v: Double) -> Logger.MetadataValue { .string(String(format: "%.1f", v)) }
        return [
            "kafka.client": "\(client)", "kafka.broker": "\(broker)", "requests": "\(requests)",
            "rtt_p50_ms": f(rttP50Ms), "rtt_p99_ms": f(rttP99Ms),
            "queue_p50_ms": f(queueP50Ms), "queue_p99_ms": f(queueP99Ms),
        ]
    }
}

/// Called from `rd_kafka_poll`/`consumer_poll` on the client's own thread; returning 0 lets
/// librdkafka free the document.
func librdkafkaStatistics(
    _ rk: OpaquePointer?, _ json: UnsafeMutablePointer<CChar>?, _ length: Int, _ opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let json, let opaque else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: json, count: length))
    let logger = ClientContext.from(opaque).logger
    for broker in BrokerLatency.parse(bytes) {
        logger.info("kafka broker latency", metadata: broker.metadata)
    }
    return 0
}
