import Foundation

/// A webhook body exactly as Meta posted it (the gateway has verified its signature and that
/// it is JSON), with what the gateway knew of it. On `wa.webhook.raw` the body is the record's
/// value, untouched, and the rest travels in headers (`RawWebhookRecord` in ServiceKit), so
/// nobody escapes it into an envelope or parses it twice.
public struct RawWebhook: Codable, Sendable {
    public var bytes: [UInt8]
    public var sha256: String
    public var receivedAt: Date
    /// Set by `crmctl replay`: process again even if this body was processed before.
    public var replay: Bool

    public init(bytes: [UInt8], sha256: String, receivedAt: Date, replay: Bool = false) {
        self.bytes = bytes
        self.sha256 = sha256
        self.receivedAt = receivedAt
        self.replay = replay
    }

    /// The body as text (what `webhook_raw` archives).
    public var body: String { String(decoding: bytes, as: UTF8.self) }

    enum CodingKeys: String, CodingKey {
        case body
        case sha256
        case receivedAt = "received_at"
        case replay
    }

    /// The envelope payload of earlier versions (`{"body": "<escaped JSON>", …}`), still read
    /// from records produced before an upgrade.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bytes = Array(try c.decode(String.self, forKey: .body).utf8)
        sha256 = try c.decode(String.self, forKey: .sha256)
        receivedAt = try c.decode(Date.self, forKey: .receivedAt)
        replay = try c.decodeIfPresent(Bool.self, forKey: .replay) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(body, forKey: .body)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(receivedAt, forKey: .receivedAt)
        try c.encode(replay, forKey: .replay)
    }
}
