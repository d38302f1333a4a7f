import Foundation

/// `wa.webhook.raw` payload: the body exactly as Meta posted it (the gateway has verified its
/// signature and that it is JSON), so the normalizer can archive the original bytes.
public struct RawWebhook: Codable, Sendable {
    public var body: String
    public var sha256: String
    public var receivedAt: Date

    public init(body: String, sha256: String, receivedAt: Date) {
        self.body = body
        self.sha256 = sha256
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case body
        case sha256
        case receivedAt = "received_at"
    }
}
