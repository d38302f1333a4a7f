import Foundation
import WireModels

/// A send request that passed validation: what the answer and the status webhooks need.
public struct ValidatedSend: Sendable, Equatable {
    /// `to` exactly as sent (the answer's `contacts[].input`).
    public var input: String
    /// The canonical digits (`contacts[].wa_id`, `statuses[].recipient_id`).
    public var waId: String
    public var type: String
    /// The template sent, for `type: template`.
    public var template: TemplateDefinition?
    public var callbackData: String?

    /// `pricing.category` of the statuses: the template's category, `service` for free-form messages.
    public var pricingCategory: String { template?.pricingCategory ?? "service" }
}

/// Checks `POST /{phone-number-id}/messages` bodies the way Meta does, answering Meta's error
/// codes: 100 (missing/invalid parameter), 131051 (unsupported type) and, for templates,
/// 132001/132000/132012/132015/132016 (see `TemplateValidator`).
public struct SendValidator: Sendable {
    public static let maximumTextLength = 4096
    /// Types accepted without templates (inside the customer-service window, which the simulator
    /// does not track: 131047 is injected by recipient pattern instead).
    public static let mediaTypes: Set<String> = ["image", "video", "audio", "document", "sticker"]

    let templates: TemplateValidator

    public init(catalog: TemplateCatalog) {
        templates = TemplateValidator(catalog: catalog)
    }

    public func validate(_ body: JSONValue) throws(GraphError) -> ValidatedSend {
        guard body["messaging_product"]?.stringValue == "whatsapp" else {
            throw GraphError.missingParameter("messaging_product")
        }
        guard let to = body["to"]?.stringValue, !to.isEmpty else { throw GraphError.missingParameter("to") }
        guard let waId = PhoneNumber.digits(to) else { throw GraphError.invalidParameter("Invalid parameter: to") }
        if let recipientType = body["recipient_type"]?.stringValue, recipientType != "individual" {
            throw GraphError.invalidParameter("recipient_type must be individual")
        }
        let type = body["type"]?.stringValue ?? "text"
        var template: TemplateDefinition?
        switch type {
        case "text":
            try Self.checkText(body["text"])
        case "template":
            template = try templates.validate(body["template"])
        case let media where Self.mediaTypes.contains(media):
            guard body[media]?["link"]?.stringValue != nil || body[media]?["id"]?.stringValue != nil else {
                throw GraphError.missingParameter("\(media)['link'] or \(media)['id']")
            }
        case "location":
            guard body["location"]?["latitude"]?.doubleValue != nil,
                body["location"]?["longitude"]?.doubleValue != nil
            else { throw GraphError.missingParameter("location['latitude'] and location['longitude']") }
        case "contacts":
            guard !(body["contacts"]?.arrayValue ?? []).isEmpty else { throw GraphError.missingParameter("contacts") }
        case "interactive":
            guard body["interactive"]?["type"]?.stringValue != nil else {
                throw GraphError.missingParameter("interactive['type']")
            }
        case "reaction":
            guard body["reaction"]?["message_id"]?.stringValue != nil else {
                throw GraphError.missingParameter("reaction['message_id']")
            }
        default:
            var error = GraphError.code(131051, details: "Unsupported message type: \(type)")
            error.message = "(#131051) Unsupported message type: \(type)"
            throw error
        }
        return ValidatedSend(
            input: to, waId: waId, type: type, template: template,
            callbackData: body["biz_opaque_callback_data"]?.stringValue)
    }

    static func checkText(_ text: JSONValue?) throws(GraphError) {
        guard let body = text?["body"]?.stringValue, !body.isEmpty else {
            throw GraphError.missingParameter("text['body']")
        }
        guard body.count <= maximumTextLength else {
            throw GraphError.invalidParameter(
                "Param text['body'] must be at most \(maximumTextLength) characters long.")
        }
    }
}
