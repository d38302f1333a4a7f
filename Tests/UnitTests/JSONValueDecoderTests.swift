import Foundation
import NormalizerService
import Testing
import WireModels

/// `JSONValueDecoder` (how every consumer reads envelopes) reads what `JSONDecoder` reads, and
/// refuses what it refuses, with the same kind of `DecodingError`.
struct JSONValueDecoderTests {
    /// Every envelope the normalizer would publish for the 74 fixture bodies.
    static func envelopes() throws -> [(name: String, inbound: [[UInt8]], statuses: [[UInt8]], events: [[UInt8]])] {
        try WebhookNormalizerTests.fixtures().map { name, body in
            let out = WebhookNormalizer().normalize(
                try WebhookBody(bytes: body), receivedAt: Date(timeIntervalSince1970: 1_800_000_000.123))
            let at = Date(timeIntervalSince1970: 1_800_000_001.5)
            return (
                name,
                try out.messages.map {
                    try EventEnvelope(eventId: $0.wamid, type: "message", occurredAt: at, source: "t", payload: $0)
                        .encoded()
                },
                try out.statuses.map {
                    try EventEnvelope(eventId: "s", type: "status", occurredAt: at, source: "t", payload: $0).encoded()
                },
                try (out.templateEvents + out.accountEvents).map {
                    try EventEnvelope(eventId: $0.eventId, type: "meta", occurredAt: at, source: "t", payload: $0.event)
                        .encoded()
                }
            )
        }
    }

    func bothWays<T: Codable>(_ type: T.Type, _ bytes: [UInt8]) throws -> (ours: [UInt8], foundation: [UInt8]) {
        let ours = try JSONValueDecoder.decode(type, from: bytes)
        let foundation = try JSONCoding.decoder().decode(type, from: Data(bytes))
        let encoder = JSONCoding.encoder()
        return (Array(try encoder.encode(ours)), Array(try encoder.encode(foundation)))
    }

    @Test func everyFixtureEnvelopeDecodesAsJSONDecoderDecodesIt() throws {
        var count = (inbound: 0, statuses: 0, events: 0)
        for (name, inbound, statuses, events) in try Self.envelopes() {
            for bytes in inbound {
                let (ours, foundation) = try bothWays(EventEnvelope<InboundMessage>.self, bytes)
                #expect(ours == foundation, "\(name)")
                #expect(ours == bytes, "\(name): decoding and encoding again changes nothing")
                count.inbound += 1
            }
            for bytes in statuses {
                let (ours, foundation) = try bothWays(EventEnvelope<StatusUpdate>.self, bytes)
                #expect(ours == foundation, "\(name)")
                count.statuses += 1
            }
            for bytes in events {
                let (ours, foundation) = try bothWays(EventEnvelope<MetaEvent>.self, bytes)
                #expect(ours == foundation, "\(name)")
                count.events += 1
            }
        }
        // The fixtures: 35 messages of every type, 6 statuses, 32 Meta events (templates, account, unknown).
        #expect(count.inbound >= 30 && count.statuses >= 5 && count.events >= 30, "\(count)")
    }

    struct Sample: Codable, Equatable {
        var id: Int64
        var small: UInt8?
        var name: String
        var at: Date
        var tags: [String]
        var nested: [String: [Int]]
        var ratio: Double
        var flag: Bool?
    }

    @Test func readsPrimitivesOptionalsCollectionsAndDates() throws {
        let text = #"""
            {"id": 9007199254740992, "small": null, "name": "Olá \u00e9", "at": "2026-11-25T20:05:07.764Z",
             "tags": ["a", "b"], "nested": {"x": [1, 2], "y": []}, "ratio": 0.25, "extra": {"ignored": true}}
            """#
        let s = try JSONValueDecoder.decode(Sample.self, from: Array(text.utf8))
        #expect(
            s
                == Sample(
                    id: 9_007_199_254_740_992, small: nil, name: "Olá é",
                    at: try #require(RFC3339.date(from: "2026-11-25T20:05:07.764Z")), tags: ["a", "b"],
                    nested: ["x": [1, 2], "y": []], ratio: 0.25, flag: nil))
    }

    @Test(arguments: [
        (#"{"name":"n","at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":1}"#, "keyNotFound"),
        (#"{"id":"1","name":"n","at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":1}"#, "typeMismatch"),
        (#"{"id":1.5,"name":"n","at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":1}"#, "dataCorrupted"),
        (
            #"{"id":1,"small":256,"name":"n","at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":1}"#,
            "dataCorrupted"
        ),
        (#"{"id":1,"name":null,"at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":1}"#, "valueNotFound"),
        (#"{"id":1,"name":"n","at":"yesterday","tags":[],"nested":{},"ratio":1}"#, "dataCorrupted"),
        (#"{"id":1,"name":"n","at":"2026-11-25T20:05:07Z","tags":[1],"nested":{},"ratio":1}"#, "typeMismatch"),
        (#"{"id":1,"name":"n","at":"2026-11-25T20:05:07Z","tags":[],"nested":{},"ratio":true}"#, "typeMismatch"),
        (#"{"id":1,"name":"n""#, "dataCorrupted"),
        (#"[]"#, "typeMismatch"),
    ])
    func refusesWhatJSONDecoderRefuses(_ text: String, _ kind: String) {
        func kindOf(_ error: any Error) -> String {
            switch error as? DecodingError {
            case .keyNotFound: "keyNotFound"
            case .typeMismatch: "typeMismatch"
            case .valueNotFound: "valueNotFound"
            case .dataCorrupted: "dataCorrupted"
            default: "\(error)"
            }
        }
        #expect(throws: (any Error).self) { try JSONCoding.decoder().decode(Sample.self, from: Data(text.utf8)) }
        do {
            _ = try JSONValueDecoder.decode(Sample.self, from: Array(text.utf8))
            Issue.record("decoded \(text)")
        } catch {
            #expect(kindOf(error) == kind, "\(text): \(error)")
        }
    }

    @Test func anErrorNamesThePathToTheBadValue() {
        let text = #"{"id":1,"name":"n","at":"2026-11-25T20:05:07Z","tags":["a",2],"nested":{},"ratio":1}"#
        do {
            _ = try JSONValueDecoder.decode(Sample.self, from: Array(text.utf8))
            Issue.record("decoded")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["tags", "Index 1"])
        } catch {
            Issue.record("\(error)")
        }
    }
}
