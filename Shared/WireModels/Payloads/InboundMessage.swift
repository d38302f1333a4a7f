import Foundation

/// `wa.inbound.message` payload: one customer message, flattened from Meta's nesting
/// (entry → change → value → messages[]), with the sender's contact profile attached.
public struct InboundMessage: Codable, Sendable, Equatable {
    public var wamid: String
    /// Customer's WhatsApp id (digits, no +); may be absent for username-only users (BSUID).
    public var waId: String?
    public var userId: String?
    public var profileName: String?
    public var wabaId: String
    public var phoneNumberId: String
    public var displayPhoneNumber: String?
    public var type: String
    /// Meta's timestamp (from `timestamp`, epoch seconds).
    public var timestamp: Date
    /// When our gateway received the notification (beside Meta's own time).
    public var receivedAt: Date
    public var text: String?
    /// wamid this message replies to (`context.id`).
    public var contextId: String?
    /// Typed meaning per message type (reply target, ad referral, button payload, order, …).
    public var details: MessageDetails
    /// The whole message object as Meta sent it.
    public var content: JSONValue

    public init(
        wamid: String, waId: String?, userId: String?, profileName: String?, wabaId: String,
        phoneNumberId: String, displayPhoneNumber: String?, type: String, timestamp: Date, receivedAt: Date,
        text: String?, contextId: String?, details: MessageDetails, content: JSONValue
    ) {
        self.wamid = wamid
        self.waId = waId
        self.userId = userId
        self.profileName = profileName
        self.wabaId = wabaId
        self.phoneNumberId = phoneNumberId
        self.displayPhoneNumber = displayPhoneNumber
        self.type = type
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.text = text
        self.contextId = contextId
        self.details = details
        self.content = content
    }

    enum CodingKeys: String, CodingKey {
        case wamid
        case waId = "wa_id"
        case userId = "user_id"
        case profileName = "profile_name"
        case wabaId = "waba_id"
        case phoneNumberId = "phone_number_id"
        case displayPhoneNumber = "display_phone_number"
        case type, timestamp
        case receivedAt = "received_at"
        case text
        case contextId = "context_id"
        case details, content
    }
}
