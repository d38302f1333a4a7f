import Foundation

/// `wa.template.event` and `wa.account.event` payload: a non-message change Meta notified
/// (template status/category/quality, phone number quality, account updates), kept whole.
public struct MetaEvent: Codable, Sendable, Equatable {
    public var wabaId: String
    public var field: String
    public var value: JSONValue
    public var receivedAt: Date

    public init(wabaId: String, field: String, value: JSONValue, receivedAt: Date) {
        self.wabaId = wabaId
        self.field = field
        self.value = value
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case wabaId = "waba_id"
        case field, value
        case receivedAt = "received_at"
    }
}
