import Foundation
import Kafka
import ServiceKit
import Testing
import WireModels

/// `wa.webhook.raw`: Meta's bytes as the value, the metadata in headers; earlier versions'
/// envelopes still read.
@Suite struct RawWebhookRecordTests {
    let body = Array("{\"object\":\"whatsapp_business_account\",\"t\":\"a \\\"q\\\" \\\\ é 😀\",\n\t\"x\":1}".utf8)
    let at = Date(timeIntervalSince1970: 1_764_090_000.123)

    func consumed(_ out: OutgoingRecord, timestamp: Date? = nil) -> KafkaRecord {
        KafkaRecord(
            topic: out.topic, partition: 0, offset: 7, key: out.key, value: out.value, headers: out.headers,
            timestamp: timestamp)
    }

    @Test func theBodyTravelsByteForByteWithItsMetadataInHeaders() throws {
        let trace = KafkaHeader(
            key: "traceparent", value: Array("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".utf8))
        let raw = RawWebhook(bytes: body, sha256: Hashing.sha256Hex(body), receivedAt: at)
        let out = RawWebhookRecord.outgoing(
            raw, topic: "wa.webhook.raw", key: "15550001111", source: "gateway", headers: [trace])
        #expect(out.value == body)
        #expect(out.key == Array("15550001111".utf8))
        #expect(out.headers.contains(trace))
        #expect(!out.headers.contains { $0.key == RawWebhookRecord.replayHeader })
        let back = try RawWebhookRecord.decode(consumed(out))
        #expect(back.bytes == body)
        #expect(back.sha256 == Hashing.sha256Hex(body))
        #expect(abs(back.receivedAt.timeIntervalSince(at)) < 0.001)
        #expect(!back.replay)

        var replayed = raw
        replayed.replay = true
        let again = RawWebhookRecord.outgoing(replayed, topic: "wa.webhook.raw", key: "k", source: "crmctl")
        #expect(try RawWebhookRecord.decode(consumed(again)).replay)
    }

    @Test func anEnvelopeOfAnEarlierVersionStillReads() throws {
        let legacy = try EventEnvelope(
            eventId: "abc123", type: EventTypes.webhookRaw, occurredAt: at, producedAt: at, source: "gateway",
            payload: RawWebhook(bytes: body, sha256: "abc123", receivedAt: at, replay: true)
        ).encoded()
        let back = try RawWebhookRecord.decode(
            KafkaRecord(topic: "wa.webhook.raw", partition: 0, offset: 1, key: nil, value: legacy))
        #expect(back.bytes == body)
        #expect(back.sha256 == "abc123")
        #expect(back.replay)
        #expect(abs(back.receivedAt.timeIntervalSince(at)) < 0.001)
    }

    @Test func aBodyWithoutHeadersGetsItsIdFromItsBytes() throws {
        let back = try RawWebhookRecord.decode(
            KafkaRecord(topic: "wa.webhook.raw", partition: 0, offset: 1, key: nil, value: body, timestamp: at))
        #expect(back.bytes == body)
        #expect(back.sha256 == Hashing.sha256Hex(body))
        #expect(back.receivedAt == at)
    }
}
