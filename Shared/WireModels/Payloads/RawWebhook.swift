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
