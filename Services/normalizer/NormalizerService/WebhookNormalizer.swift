import Foundation
import WireModels

/// Turns one Meta notification body into our events. Pure: no I/O, so every payload shape is
/// unit-tested. Loops over every entry, change, message and status (SDKs that read only
/// `[0]` lose data). An item that cannot be understood is reported in `problems` and the rest
/// of the body is still normalized.
public struct WebhookNormalizer: Sendable {
    public struct Output: Sendable {
        public var messages: [InboundMessage] = []
        public var statuses: [StatusUpdate] = []
        /// Template changes (`wa.template.event`) keyed by template name.
        public var templateEvents: [(key: String, eventId: String, event: MetaEvent)] = []
        /// Everything else Meta notifies (`wa.account.event`), including fields we do not know yet.
        public var accountEvents: [(key: String, eventId: String, event: MetaEvent)] = []
        public var problems: [String] = []
        /// Message types and change fields this version does not know: kept and published, and
        /// counted so an operator sees Meta adding something new.
        public var unknown: [String] = []
    }

    /// Change fields Meta's webhook reference documents; others are flagged unknown.
    static let knownFields: Set<String> = templateFields.union([
        "messages", "account_update", "account_alerts", "account_review_update", "phone_number_quality_update",
        "phone_number_name_update", "business_capability_update", "security", "flows", "user_preferences",
        "smb_message_echoes", "calls",
    ])

    static let templateFields: Set<String> = [
        "message_template_status_update", "message_template_quality_update", "message_template_components_update",
        "template_category_update",
    ]

    public init() {}

    public func normalize(_ body: WebhookBody, receivedAt: Date) -> Output {
        var out = Output()
        for (e, entry) in body.entries.enumerated() {
            guard let wabaId = entry["id"]?.stringValue else {
                out.problems.append("entry[\(e)]: missing id")
                continue
            }
            for (c, change) in (entry["changes"]?.arrayValue ?? []).enumerated() {
                let path = "entry[\(e)].changes[\(c)]"
                guard let field = change["field"]?.stringValue, let value = change["value"] else {
                    out.problems.append("\(path): missing field or value")
                    continue
                }
                if field == "messages" {
                    messages(value, wabaId: wabaId, path: path, receivedAt: receivedAt, into: &out)
                } else {
                    let event = MetaEvent(wabaId: wabaId, field: field, value: value, receivedAt: receivedAt)
                    if !Self.knownFields.contains(field) { out.unknown.append("field \(field)") }
                    if Self.templateFields.contains(field) {
                        let name = value["message_template_name"]?.stringValue ?? "unknown"
                        let id = [
                            wabaId, name, value["message_template_language"]?.stringValue ?? "-",
                            value["event"]?.stringValue ?? field, entry["time"]?.stringValue ?? Self.digest(value),
                        ].joined(separator: ":")
                        out.templateEvents.append((name, id, event))
                    } else {
                        out.accountEvents.append((wabaId, "\(wabaId):\(field):\(Self.digest(value))", event))
                    }
                }
            }
        }
        return out
    }

    func messages(_ value: JSONValue, wabaId: String, path: String, receivedAt: Date, into out: inout Output) {
        guard let phoneNumberId = value["metadata"]?["phone_number_id"]?.stringValue, Self.isId(phoneNumberId) else {
            // Without the business number nothing in this change can be attributed; name each item.
            for kind in ["messages", "statuses"] {
                for i in (value[kind]?.arrayValue ?? []).indices {
                    out.problems.append("\(path).\(kind)[\(i)]: metadata.phone_number_id missing or invalid")
                }
            }
            return
        }
        let display = value["metadata"]?["display_phone_number"]?.stringValue
        let contacts = value["contacts"]?.arrayValue ?? []

        for (i, m) in (value["messages"]?.arrayValue ?? []).enumerated() {
            let itemPath = "\(path).messages[\(i)]"
            guard let wamid = m["id"]?.stringValue, Self.isWamid(wamid) else {
                out.problems.append("\(itemPath): id missing or not a message id")
                continue
            }
            // Meta has sent unsupported messages without a type, only with errors[].
            let type = m["type"]?.stringValue ?? (m["errors"] != nil ? "unsupported" : "unknown")
            guard let timestamp = MetaTimestamp.date(m["timestamp"]?.stringValue) else {
                out.problems.append("\(itemPath): timestamp missing or not epoch seconds")
                continue
            }
            let from = m["from"]?.stringValue
            let contact = contacts.first { $0["wa_id"]?.stringValue == from } ?? contacts.first
            let waId = from.flatMap { PhoneNumber.digits($0) }
            let userId = m["from_user_id"]?.stringValue ?? contact?["user_id"]?.stringValue
            guard waId != nil || userId != nil else {
                out.problems.append("\(itemPath): sender has neither a valid wa_id nor a user_id")
                continue
            }
            out.messages.append(
                InboundMessage(
                    wamid: wamid, waId: waId, userId: userId, profileName: contact?["profile"]?["name"]?.stringValue,
                    wabaId: wabaId, phoneNumberId: phoneNumberId, displayPhoneNumber: display, type: type,
                    timestamp: timestamp, receivedAt: receivedAt, text: Self.text(of: m, type: type),
                    contextId: m["context"]?["id"]?.stringValue,
                    details: MessageDetailsParser.parse(m, type: type), content: m))
            if !MessageDetails.knownTypes.contains(type) { out.unknown.append("message type \(type)") }
        }

        for (i, s) in (value["statuses"]?.arrayValue ?? []).enumerated() {
            let itemPath = "\(path).statuses[\(i)]"
            guard let wamid = s["id"]?.stringValue, Self.isWamid(wamid) else {
                out.problems.append("\(itemPath): id missing or not a message id")
                continue
            }
            guard let status = s["status"]?.stringValue, !status.isEmpty else {
                out.problems.append("\(itemPath): status missing")
                continue
            }
            guard let timestamp = MetaTimestamp.date(s["timestamp"]?.stringValue) else {
                out.problems.append("\(itemPath): timestamp missing or not epoch seconds")
                continue
            }
            out.statuses.append(
                StatusUpdate(
                    wamid: wamid, status: status, timestamp: timestamp, recipientId: s["recipient_id"]?.stringValue,
                    wabaId: wabaId, phoneNumberId: phoneNumberId,
                    bizOpaqueCallbackData: s["biz_opaque_callback_data"]?.stringValue,
                    errors: (s["errors"]?.arrayValue ?? []).compactMap(WhatsAppError.init(meta:)),
                    conversation: s["conversation"],
                    pricing: s["pricing"]))
        }

        let errors = value["errors"]?.arrayValue ?? []
        if !errors.isEmpty {
            let event = MetaEvent(wabaId: wabaId, field: "messages.errors", value: .array(errors), receivedAt: .now)
            out.accountEvents.append((wabaId, "\(wabaId):messages.errors:\(Self.digest(.array(errors)))", event))
        }
    }

    /// The human-readable text of a message, whatever its type, for search and the timeline.
    static func text(of m: JSONValue, type: String) -> String? {
        switch type {
        case "text": return m["text"]?["body"]?.stringValue
        case "image", "video", "document", "audio", "sticker": return m[type]?["caption"]?.stringValue
        case "button": return m["button"]?["text"]?.stringValue
        case "interactive":
            let i = m["interactive"]
            return i?["button_reply"]?["title"]?.stringValue ?? i?["list_reply"]?["title"]?.stringValue
                ?? i?["nfm_reply"]?["body"]?.stringValue
        case "edit":
            return m["edit"]?["message"]?["text"]?["body"]?.stringValue
                ?? m["edit"]?["message"]?["image"]?["caption"]?.stringValue
        case "reaction": return m["reaction"]?["emoji"]?.stringValue
        case "location": return m["location"]?["name"]?.stringValue ?? m["location"]?["address"]?.stringValue
        case "system": return m["system"]?["body"]?.stringValue
        case "order": return m["order"]?["text"]?.stringValue
        default: return nil
        }
    }

    /// Documentation placeholders such as `<WHATSAPP_MESSAGE_ID>` are not ids.
    static func isWamid(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 512 && !s.contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace })
    }

    static func isId(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }

    static func digest(_ value: JSONValue) -> String {
        let bytes = (try? JSONCoding.encoder().encode(value)) ?? Data()
        return String(Hashing.sha256Hex(bytes).prefix(16))
    }
}
