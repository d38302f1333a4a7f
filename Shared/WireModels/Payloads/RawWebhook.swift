import Foundation

/// `wa.webhook.raw` payload: the body exactly as Meta posted it (the gateway has verified its
/// signature and that it is JSON), so the normalizer can archive the original bytes.
public struct RawWebhook: Codable, Sendable {
    public var body: String
    public var sha256: String
    public var receivedAt: Date
    /// Set by `crmctl replay`: process again even if this body was processed before.
    public var replay: Bool

    public init(body: String, sha256: String, receivedAt: Date, replay: Bool = false) {
        self.body = body
        self.sha256 = sha256
        self.receivedAt = receivedAt
        self.replay = replay
    }

    enum CodingKeys: String, CodingKey {
        case body
        case sha256
        case receivedAt = "received_at"
        case replay
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        body = try c.decode(String.self, forKey: .body)
        sha256 = try c.decode(String.self, forKey: .sha256)
        receivedAt = try c.decode(Date.self, forKey: .receivedAt)
        replay = try c.decodeIfPresent(Bool.self, forKey: .replay) ?? false
    }
}

extension RawWebhook {
    /// The complete `wa.webhook.raw` envelope for a body, written directly: this runs for
    /// every webhook before Meta gets its answer, and `JSONEncoder` (plus three date
    /// formats) was a large part of the gateway's CPU per request. Decodes as
    /// `EventEnvelope<RawWebhook>`; `JSONParserTests.rawWebhookEnvelopeRoundTrips` checks that it does.
    public static func envelopeBytes(
        body: [UInt8], sha256: String, receivedAt: Date, source: String, traceId: String? = nil
    ) -> [UInt8] {
        let at = RFC3339.string(from: receivedAt)
        var out = [UInt8]()
        out.reserveCapacity(body.count + 400)
        out += Array(#"{"event_id":""#.utf8) + Array(sha256.utf8)
        out += Array(#"","occurred_at":""#.utf8) + Array(at.utf8)
        out += Array(#"","payload":{"body":"#.utf8)
        JSONString.append(body, to: &out)
        out += Array(#","received_at":""#.utf8) + Array(at.utf8)
        out += Array(#"","replay":false,"sha256":""#.utf8) + Array(sha256.utf8)
        out += Array(#""},"produced_at":""#.utf8) + Array(at.utf8)
        out += Array(#"","source":""#.utf8) + Array(source.utf8)
        // A trace id is 32 hex digits (checked, so it needs no escaping).
        if let traceId, traceId.utf8.count == 32, traceId.utf8.allSatisfy({ Hashing.isHexDigit($0) }) {
            out += Array(#"","trace_id":""#.utf8) + Array(traceId.utf8)
            out += Array(#"","type":""#.utf8) + Array(EventTypes.webhookRaw.utf8)
        } else {
            out += Array(#"","trace_id":null,"type":""#.utf8) + Array(EventTypes.webhookRaw.utf8)
        }
        out += Array(#""}"#.utf8)
        return out
    }
}

/// JSON string literal writing for UTF-8 text (quotes, backslashes and control characters
/// escaped; everything else, including non-ASCII, copied as is).
public enum JSONString {
    public static func append<Text: Sequence<UInt8>>(_ text: Text, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for c in text {
            switch c {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0x0F)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
