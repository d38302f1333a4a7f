import Foundation
import WireModels

/// One status notification, as Meta posts it for a message the business sent.
public struct StatusEvent: Sendable, Equatable {
    public var wamid: String
    public var status: String
    public var recipient: String
    public var phoneNumberId: String
    public var displayPhoneNumber: String
    public var wabaId: String
    public var callbackData: String?
    public var at: Date
    /// `pricing.category`: marketing, utility, authentication (templates) or service (free-form).
    public var category: String
    public var error: GraphError?

    public init(
        wamid: String, status: String, recipient: String, phoneNumberId: String, displayPhoneNumber: String,
        wabaId: String, callbackData: String?, at: Date, category: String, error: GraphError? = nil
    ) {
        self.wamid = wamid
        self.status = status
        self.recipient = recipient
        self.phoneNumberId = phoneNumberId
        self.displayPhoneNumber = displayPhoneNumber
        self.wabaId = wabaId
        self.callbackData = callbackData
        self.at = at
        self.category = category
        self.error = error
    }
}

/// Status notification bodies in Meta's shape. Pricing follows per-message pricing (PMP, since
/// July 2025): templates are billable (`regular`), free-form replies inside the customer-service
/// window are not (`service`, `free_customer_service`). `sent` and `delivered` carry `pricing`
/// and `conversation` (its id stable per number, recipient, category and day; the expiration on
/// `sent`), `read` carries neither, `failed` carries `errors[]`.
public enum StatusWebhook {
    public static func body(_ event: StatusEvent) -> [UInt8] {
        Array((try? JSONCoding.encoder().encode(value(event))) ?? Data())
    }

    public static func value(_ event: StatusEvent) -> JSONValue {
        let seconds = Int(event.at.timeIntervalSince1970)
        var status: [String: JSONValue] = [
            "id": .string(event.wamid), "status": .string(event.status), "timestamp": .string(String(seconds)),
            "recipient_id": .string(event.recipient),
        ]
        if event.status == "sent" || event.status == "delivered" {
            let free = event.category == "service"
            status["pricing"] = .object([
                "billable": .bool(!free), "pricing_model": .string("PMP"), "category": .string(event.category),
                "type": .string(free ? "free_customer_service" : "regular"),
            ])
            let day = seconds / 86_400
            var conversation: [String: JSONValue] = [
                "id": .string(conversationId(event, day: day)),
                "origin": .object(["type": .string(event.category)]),
            ]
            if event.status == "sent" {
                conversation["expiration_timestamp"] = .string(String((day + 1) * 86_400))
            }
            status["conversation"] = .object(conversation)
        }
        if let error = event.error { status["errors"] = .array([error.statusError]) }
        if let callback = event.callbackData { status["biz_opaque_callback_data"] = .string(callback) }
        return envelope(
            wabaId: event.wabaId,
            value: [
                "messaging_product": .string("whatsapp"),
                "metadata": .object([
                    "display_phone_number": .string(event.displayPhoneNumber),
                    "phone_number_id": .string(event.phoneNumberId),
                ]),
                "statuses": .array([.object(status)]),
            ])
    }

    /// `{object, entry: [{id: waba, changes: [{field: "messages", value}]}]}`.
    static func envelope(wabaId: String, value: [String: JSONValue]) -> JSONValue {
        .object([
            "object": .string("whatsapp_business_account"),
            "entry": .array([
                .object([
                    "id": .string(wabaId),
                    "changes": .array([.object(["field": .string("messages"), "value": .object(value)])]),
                ])
            ]),
        ])
    }

    static func conversationId(_ event: StatusEvent, day: Int) -> String {
        let key = "\(event.phoneNumberId)|\(event.recipient)|\(event.category)|\(day)"
        return String(Hashing.sha256Hex(Data(key.utf8)).prefix(32))
    }
}
