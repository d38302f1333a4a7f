import Foundation

/// `wa.status` payload: one delivery status of a message we sent.
public struct StatusUpdate: Codable, Sendable, Equatable {
    public var wamid: String
    public var status: String
    public var timestamp: Date
    public var recipientId: String?
    public var wabaId: String
    public var phoneNumberId: String
    public var bizOpaqueCallbackData: String?
    public var errors: [WhatsAppError]
    public var conversation: JSONValue?
    public var pricing: JSONValue?

    public init(
        wamid: String, status: String, timestamp: Date, recipientId: String?, wabaId: String,
        phoneNumberId: String, bizOpaqueCallbackData: String?, errors: [WhatsAppError],
        conversation: JSONValue?, pricing: JSONValue?
    ) {
        self.wamid = wamid
        self.status = status
        self.timestamp = timestamp
        self.recipientId = recipientId
        self.wabaId = wabaId
        self.phoneNumberId = phoneNumberId
        self.bizOpaqueCallbackData = bizOpaqueCallbackData
        self.errors = errors
        self.conversation = conversation
        self.pricing = pricing
    }

    /// Idempotency key (contract): `wamid:status`, and `failed` adds the error code.
    public var eventId: String {
        if status == "failed", let code = errors.first?.code { return "\(wamid):\(status):\(code)" }
        return "\(wamid):\(status)"
    }

    enum CodingKeys: String, CodingKey {
        case wamid, status, timestamp
        case recipientId = "recipient_id"
        case wabaId = "waba_id"
        case phoneNumberId = "phone_number_id"
        case bizOpaqueCallbackData = "biz_opaque_callback_data"
        case errors, conversation, pricing
    }
}

/// Meta's error object (statuses[].errors[], value.errors[], Graph API errors).
public struct WhatsAppError: Codable, Sendable, Equatable {
    public var code: Int
    public var title: String?
    public var message: String?
    public var details: String?

    public init(code: Int, title: String?, message: String?, details: String?) {
        self.code = code
        self.title = title
        self.message = message
        self.details = details
    }
}

extension WhatsAppError {
    /// Reads Meta's error object (`code`, `title`, `message`, `error_data.details`); nil without a code.
    public init?(meta e: JSONValue) {
        guard let code = e["code"]?.stringValue.flatMap({ Int($0) }) else { return nil }
        self.init(
            code: code, title: e["title"]?.stringValue, message: e["message"]?.stringValue,
            details: e["error_data"]?["details"]?.stringValue)
    }
}
