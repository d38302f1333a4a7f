import Foundation
import Hummingbird
import WireModels

/// A Graph API error in Meta's shape:
/// `{"error":{"message","type","code","error_subcode"?,"error_data":{"messaging_product","details"},"fbtrace_id"}}`.
/// The same code also describes a `failed` status's `errors[]` entry (`title`, `message`, `error_data.details`).
public struct GraphError: Error, Sendable, Equatable {
    public var httpStatus: Int
    public var code: Int
    public var message: String
    public var title: String
    public var details: String?
    public var type: String
    public var subcode: Int?

    public init(
        httpStatus: Int, code: Int, message: String, title: String, details: String? = nil,
        type: String = "OAuthException", subcode: Int? = nil
    ) {
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.title = title
        self.details = details
        self.type = type
        self.subcode = subcode
    }

    /// The error Meta answers for `code`, with its usual HTTP status, title and details.
    public static func code(_ code: Int, details: String? = nil) -> GraphError {
        let entry = GraphErrorCatalog.entries[code]
        let title = entry?.title ?? "Error \(code)"
        return GraphError(
            httpStatus: entry?.httpStatus ?? 400, code: code, message: "(#\(code)) \(title)", title: title,
            details: details ?? entry?.details)
    }

    /// A 5xx answer without a specific WhatsApp code: 503 → code 2 (service unavailable), else code 1.
    public static func server(httpStatus: Int) -> GraphError {
        var error = code(httpStatus == 503 ? 2 : 1)
        error.httpStatus = httpStatus
        return error
    }

    // MARK: Errors the validator answers

    public static let invalidToken = GraphError(
        httpStatus: 401, code: 190, message: "Invalid OAuth access token - Cannot parse access token",
        title: "Invalid OAuth access token")

    public static func missingParameter(_ name: String) -> GraphError {
        GraphError(
            httpStatus: 400, code: 100, message: "(#100) The parameter \(name) is required.",
            title: "Invalid parameter",
            details: "The parameter \(name) is required.")
    }

    public static func invalidParameter(_ details: String) -> GraphError {
        GraphError(
            httpStatus: 400, code: 100, message: "(#100) Invalid parameter", title: "Invalid parameter",
            details: details)
    }

    public static func unsupportedObject(_ id: String) -> GraphError {
        GraphError(
            httpStatus: 400, code: 100,
            message:
                "Unsupported get request. Object with ID '\(id)' does not exist, cannot be loaded due to missing "
                + "permissions, or does not support this operation.",
            title: "Invalid parameter", type: "GraphMethodException", subcode: 33)
    }

    // MARK: Encoding

    /// `{"error": {...}}` as Meta answers a failed request.
    public var responseBody: JSONValue {
        var error: [String: JSONValue] = [
            "message": .string(message), "type": .string(type), "code": .number(Double(code)),
            "fbtrace_id": .string(Self.traceId()),
        ]
        if let details {
            error["error_data"] = .object(["messaging_product": .string("whatsapp"), "details": .string(details)])
        }
        if let subcode { error["error_subcode"] = .number(Double(subcode)) }
        return .object(["error": .object(error)])
    }

    /// One entry of a `failed` status's `errors[]`.
    public var statusError: JSONValue {
        .object([
            "code": .number(Double(code)), "title": .string(title), "message": .string(title),
            "error_data": .object(["details": .string(details ?? title)]),
            "href": .string("https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"),
        ])
    }

    public var response: Response {
        JSONResponse.make(status: httpStatus, responseBody)
    }

    static func traceId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<23).map { _ in alphabet.randomElement()! })
    }
}

/// Meta's WhatsApp error codes (support/error-codes): HTTP status, title and usual details.
enum GraphErrorCatalog {
    struct Entry {
        var httpStatus: Int
        var title: String
        var details: String?
    }

    static let entries: [Int: Entry] = [
        0: Entry(httpStatus: 401, title: "AuthException", details: "We were unable to authenticate the app user."),
        1: Entry(
            httpStatus: 500, title: "An unknown error occurred", details: "Invalid request or possible server error."),
        2: Entry(
            httpStatus: 503, title: "Service temporarily unavailable",
            details: "Temporary due to downtime or due to being overloaded."),
        3: Entry(
            httpStatus: 403, title: "Capability or permissions issue",
            details: "The app lacks the capability or permissions for this endpoint."),
        4: Entry(httpStatus: 400, title: "Too many API calls", details: "The app has reached its API call rate limit."),
        10: Entry(
            httpStatus: 403, title: "Permission denied",
            details: "Permission is either not granted or has been removed."),
        100: Entry(httpStatus: 400, title: "Invalid parameter"),
        190: Entry(httpStatus: 401, title: "Access token has expired", details: "Your access token has expired."),
        200: Entry(
            httpStatus: 403, title: "Permission denied",
            details: "Permission is either not granted or has been removed."),
        368: Entry(
            httpStatus: 400, title: "Temporarily blocked for policies violations",
            details:
                "The WhatsApp Business Account associated with the app has been restricted or disabled for violating "
                + "a platform policy."
        ),
        80007: Entry(
            httpStatus: 400, title: "Rate limit issues",
            details: "The WhatsApp Business Account has reached its rate limit."),
        130429: Entry(
            httpStatus: 400, title: "Rate limit hit", details: "Cloud API message throughput has been reached."),
        131000: Entry(
            httpStatus: 500, title: "Something went wrong", details: "Message failed to send due to an unknown error."),
        131005: Entry(
            httpStatus: 403, title: "Access denied", details: "Permission is either not granted or has been removed."),
        131008: Entry(
            httpStatus: 400, title: "Required parameter is missing",
            details: "The request is missing a required parameter."),
        131009: Entry(
            httpStatus: 400, title: "Parameter value is not valid", details: "One or more parameter values are invalid."
        ),
        131016: Entry(httpStatus: 503, title: "Service unavailable", details: "A service is temporarily unavailable."),
        131021: Entry(
            httpStatus: 400, title: "Recipient cannot be sender",
            details: "Sender and recipient phone number is the same."),
        131026: Entry(
            httpStatus: 400, title: "Message undeliverable",
            details:
                "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone "
                + "number, the recipient has not accepted the new Terms of Service, the recipient is using an old "
                + "WhatsApp version."
        ),
        131030: Entry(
            httpStatus: 400, title: "Recipient phone number not in allowed list",
            details: "Sender phone number is a test number and the recipient is not in its allowed list."),
        131031: Entry(
            httpStatus: 400, title: "Account has been locked",
            details: "The WhatsApp Business Account is restricted or disabled for violating a platform policy."),
        131042: Entry(
            httpStatus: 400, title: "Business eligibility payment issue",
            details: "There was an error related to your payment method."),
        131045: Entry(
            httpStatus: 400, title: "Incorrect certificate",
            details: "Message failed to send due to a phone number registration error."),
        131047: Entry(
            httpStatus: 400, title: "Re-engagement message",
            details:
                "Message failed to send because more than 24 hours have passed since the customer last replied to "
                + "this number."
        ),
        131048: Entry(
            httpStatus: 400, title: "Spam rate limit hit",
            details:
                "Message failed to send because there are restrictions on how many messages can be sent from this "
                + "phone number."
        ),
        131049: Entry(
            httpStatus: 400, title: "This message was not delivered to maintain healthy ecosystem engagement.",
            details: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
        131050: Entry(
            httpStatus: 400,
            title:
                "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on "
                + "WhatsApp from your business.",
            details: "The user has stopped marketing messages."),
        131051: Entry(httpStatus: 400, title: "Unsupported message type", details: "Unsupported message type."),
        131053: Entry(
            httpStatus: 400, title: "Media upload error", details: "Unable to upload the media used in the message."),
        131056: Entry(
            httpStatus: 400, title: "(Business Account, Consumer Account) pair rate limit hit",
            details:
                "Too many messages sent from the sender phone number to the same recipient phone number in a short "
                + "period of time."
        ),
        131057: Entry(
            httpStatus: 503, title: "Account in maintenance mode", details: "Business Account is in maintenance mode."),
        132000: Entry(
            httpStatus: 400, title: "Number of parameters does not match the expected number of params",
            details: "The number of variable parameter values does not match the number of variables in the template."),
        132001: Entry(
            httpStatus: 404, title: "Template name does not exist in the translation",
            details: "The template does not exist in the specified language or has not been approved."),
        132005: Entry(httpStatus: 400, title: "Translated text too long", details: "Translated text is too long."),
        132007: Entry(
            httpStatus: 400, title: "Format character policy violated",
            details: "Template content violates a WhatsApp policy."),
        132012: Entry(
            httpStatus: 400, title: "Parameter format does not match format in the created template",
            details: "Variable parameter values formatted incorrectly."),
        132015: Entry(
            httpStatus: 400, title: "Template is Paused",
            details: "Cannot send a template because it is paused due to low quality."),
        132016: Entry(
            httpStatus: 400, title: "Template is Disabled",
            details: "Cannot send a template because it has been paused too many times and is now permanently disabled."
        ),
        132018: Entry(
            httpStatus: 400, title: "There was an issue with the parameters in your template.",
            details: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces."),
    ]
}
