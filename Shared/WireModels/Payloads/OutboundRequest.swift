import Foundation

/// `wa.outbound.request` payload: something to send to one recipient.
public struct OutboundRequest: Codable, Sendable, Equatable {
    public var requestId: String
    /// Recipient digits (E.164 without +).
    public var to: String
    /// Business number to send from; nil = the configured default.
    public var phoneNumberId: String?
    public var text: String?
    public var requestedBy: String?
    public var test: Bool

    public init(
        requestId: String, to: String, phoneNumberId: String?, text: String?, requestedBy: String?, test: Bool = false
    ) {
        self.requestId = requestId
        self.to = to
        self.phoneNumberId = phoneNumberId
        self.text = text
        self.requestedBy = requestedBy
        self.test = test
    }

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id"
        case to
        case phoneNumberId = "phone_number_id"
        case text
        case requestedBy = "requested_by"
        case test
    }
}

/// `wa.outbound.result` payload: the outcome of one send attempt.
public struct OutboundResult: Codable, Sendable, Equatable {
    public var requestId: String
    public var attempt: Int
    public var state: String
    public var wamid: String?
    public var waId: String?
    public var error: WhatsAppError?

    public init(requestId: String, attempt: Int, state: String, wamid: String?, waId: String?, error: WhatsAppError?) {
        self.requestId = requestId
        self.attempt = attempt
        self.state = state
        self.wamid = wamid
        self.waId = waId
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id"
        case attempt, state, wamid
        case waId = "wa_id"
        case error
    }
}
