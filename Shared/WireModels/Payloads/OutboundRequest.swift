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
    /// A template send (instead of `text`), with every variable already resolved.
    public var template: OutboundTemplate?
    public var campaignId: String?

    public init(
        requestId: String, to: String, phoneNumberId: String?, text: String?, requestedBy: String?, test: Bool = false,
        template: OutboundTemplate? = nil, campaignId: String? = nil
    ) {
        self.requestId = requestId
        self.to = to
        self.phoneNumberId = phoneNumberId
        self.text = text
        self.requestedBy = requestedBy
        self.test = test
        self.template = template
        self.campaignId = campaignId
    }

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id"
        case to
        case phoneNumberId = "phone_number_id"
        case text
        case requestedBy = "requested_by"
        case test, template
        case campaignId = "campaign_id"
    }
}

/// The template of a send: name, language and the value of each variable by its id
/// (`body.1`, `header.first_name`, `header.image`, `button.0.1`, `button.1.coupon_code`).
public struct OutboundTemplate: Codable, Sendable, Equatable {
    public var name: String
    public var language: String
    public var variables: [String: String]

    public init(name: String, language: String, variables: [String: String]) {
        self.name = name
        self.language = language
        self.variables = variables
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
