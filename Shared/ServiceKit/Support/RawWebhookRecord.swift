import Foundation
import Kafka
import WireModels

/// How a raw webhook travels on `wa.webhook.raw`: the value is Meta's body, byte for byte;
/// the event id (the body's SHA-256), the time the gateway received it, who produced it and
/// whether it is an operator's replay are headers. Records produced by earlier versions (a
/// JSON envelope with the body escaped inside) are still read.
public enum RawWebhookRecord {
    public static let eventIdHeader = "crm-event-id"
    public static let receivedAtHeader = "crm-received-at"
    public static let sourceHeader = "crm-source"
    public static let replayHeader = "crm-replay"

    /// The record for a body; `headers` (the trace context) are added after the metadata.
    public static func outgoing(
        _ raw: RawWebhook, topic: String, key: String, source: String, headers: [KafkaHeader] = []
    ) -> OutgoingRecord {
        var all = [
            KafkaHeader(key: eventIdHeader, value: Array(raw.sha256.utf8)),
            KafkaHeader(key: receivedAtHeader, value: Array(RFC3339.string(from: raw.receivedAt).utf8)),
            KafkaHeader(key: sourceHeader, value: Array(source.utf8)),
        ]
        if raw.replay { all.append(KafkaHeader(key: replayHeader, value: Array("true".utf8))) }
        return OutgoingRecord(topic: topic, key: Array(key.utf8), value: raw.bytes, headers: all + headers)
    }

    /// The raw webhook a record carries. A record without the metadata headers is an envelope
    /// of an earlier version, or a body whose headers were lost on the way: the event id is
    /// then worked out from the bytes and the received-at is the record's time.
    public static func decode(_ record: KafkaRecord) throws -> RawWebhook {
        func header(_ key: String) -> String? {
            record.headers.first { $0.key == key }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        if let at = header(receivedAtHeader), let receivedAt = RFC3339.date(from: at) {
            return RawWebhook(
                bytes: record.value, sha256: header(eventIdHeader) ?? Hashing.sha256Hex(record.value),
                receivedAt: receivedAt, replay: header(replayHeader) == "true")
        }
        if let envelope = try? EventEnvelope<RawWebhook>.decode(record.value),
            envelope.type == EventTypes.webhookRaw
        {
            return envelope.payload
        }
        return RawWebhook(
            bytes: record.value, sha256: Hashing.sha256Hex(record.value), receivedAt: record.timestamp ?? Date())
    }
}
