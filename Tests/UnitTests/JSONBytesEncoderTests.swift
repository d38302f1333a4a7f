import Foundation
import NormalizerService
import Testing
import WireModels

/// `JSONBytesEncoder` writes what `JSONEncoder` with `JSONCoding.encoder()`'s settings writes:
/// the same JSON for every event the normalizer makes from every fixture, keys sorted, and
/// what it writes decodes back to the same value.
@Suite struct JSONBytesEncoderTests {
    func sameAsJSONEncoder<T: Codable>(_ value: T, _ label: String) throws {
        let fast = try JSONBytesEncoder.encode(value)
        let foundation = Array(try JSONCoding.encoder().encode(value))
        let parsed = try JSONParser.parse(fast)
        #expect(parsed == (try JSONParser.parse(foundation)), "\(label)")
        // Keys sorted, no space: the text is the parsed tree written back canonically.
        #expect(String(decoding: fast, as: UTF8.self) == parsed.jsonText, "\(label)")
        // Read back and written again: the same bytes (dates are kept to the millisecond).
        #expect(try JSONBytesEncoder.encode(try JSONValueDecoder.decode(T.self, from: fast)) == fast, "\(label)")
    }

    @Test func everyEventOfEveryFixtureIsWrittenAsJSONEncoderWritesIt() throws {
        var count = 0
        for (name, body) in try WebhookNormalizerTests.fixtures() {
            guard let webhook = try? WebhookBody(bytes: body) else { continue }
            let out = WebhookNormalizer().normalize(webhook, receivedAt: Date(timeIntervalSince1970: 1_800_000_000.123))
            for m in out.messages {
                try sameAsJSONEncoder(
                    EventEnvelope(
                        eventId: m.wamid, type: EventTypes.inboundMessage, occurredAt: m.timestamp,
                        source: "normalizer",
                        traceId: "0af7651916cd43dd8448eb211c80319c", payload: m), name)
                count += 1
            }
            for s in out.statuses {
                try sameAsJSONEncoder(
                    EventEnvelope(
                        eventId: s.eventId, type: EventTypes.status, occurredAt: s.timestamp, source: "normalizer",
                        payload: s), name)
                count += 1
            }
            for e in out.templateEvents + out.accountEvents {
                try sameAsJSONEncoder(e.event, name)
                count += 1
            }
        }
        #expect(count > 50, "the fixtures produced \(count) events")
    }

    @Test func scalarsAndEdgeCases() throws {
        struct Sample: Codable {
            var text: String
            var big: Int64
            var negative: Int
            var fraction: Double
            var whole: Double
            var flag: Bool
            var missing: String?
            var list: [Int]
            var nested: [String: [String]]
            var json: JSONValue
            var at: Date
        }
        try sameAsJSONEncoder(
            Sample(
                text: "a \"q\" \\ / é 😀\n\t\u{1}", big: 4_294_967_296_000, negative: -42, fraction: 0.1,
                whole: 3, flag: true, missing: nil, list: [3, 1, 2], nested: ["b": ["x"], "a": []],
                json: ["z": 1, "a": [true, .null, "s"]], at: Date(timeIntervalSince1970: 1_764_090_000.5)), "sample")
        #expect(String(decoding: try JSONBytesEncoder.encode(Int64.max), as: UTF8.self) == "9223372036854775807")
        #expect(throws: EncodingError.self) { try JSONBytesEncoder.encode(Double.nan) }
    }
}
