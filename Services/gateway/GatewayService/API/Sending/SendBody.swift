import Foundation
import Outbound
import WireModels

/// `POST /api/v1/messages`: `to` plus `text` or `template {name, language, variables}`,
/// optional `idempotency_key`, `test`, `campaign_id`, `phone_number_id`. `variables` is an
/// object (variable ids such as `body.1`, `header.image`, `button.0.1`, a bare name for the
/// body, and campaign columns the mapping refers to) or an array (body `{{1}}`, `{{2}}` …).
struct SendBody: Decodable {
    struct Template: Decodable {
        var name: String?
        var language: String?
        var variables: Variables?
    }

    struct Variables: Decodable {
        var values: [String: String]

        init(from decoder: any Decoder) throws {
            let raw = try JSONValue(from: decoder)
            var values: [String: String] = [:]
            switch raw {
            case .object(let object):
                for (k, v) in object {
                    guard let s = v.stringValue else {
                        throw DecodingError.dataCorrupted(
                            .init(
                                codingPath: decoder.codingPath,
                                debugDescription: "variable \(k) must be a string or number"))
                    }
                    values[k] = s
                }
            case .array(let list):
                for (i, v) in list.enumerated() { values["body.\(i + 1)"] = v.stringValue ?? "" }
            case .null:
                break
            default:
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "variables must be an object or an array"))
            }
            self.values = values
        }
    }

    var to: String?
    var text: String?
    var template: Template?
    var idempotencyKey: String?
    var test: Bool?
    var campaignId: String?
    var phoneNumberId: String?

    enum CodingKeys: String, CodingKey {
        case to, text, template
        case idempotencyKey = "idempotency_key"
        case test
        case campaignId = "campaign_id"
        case phoneNumberId = "phone_number_id"
    }

    /// Prefixes of the request ids campaigns and workflow rules make.
    static let reservedKeyPrefixes = ["campaign:", "workflow:"]

    /// Shape checks (400, every problem listed); policy comes after, in the gate.
    func ask(to override: String? = nil) throws -> SendIntake.Ask {
        var problems = Problems()
        let to = (override ?? self.to).flatMap(PhoneNumber.digits)
        if to == nil { problems.add("to", "required, an international phone number") }
        if let template {
            if text != nil { problems.add("text", "give text or template, not both") }
            if (template.name ?? "").isEmpty { problems.add("template.name", "required") }
            if (template.language ?? "").isEmpty { problems.add("template.language", "required (e.g. en_US)") }
        } else {
            if (text ?? "").isEmpty { problems.add("text", "give text or a template: one is required") }
            if let t = text, t.utf8.count > 4096 { problems.add("text", "at most 4096 bytes") }
        }
        if let k = idempotencyKey, k.isEmpty || k.utf8.count > 200 {
            problems.add("idempotency_key", "1 to 200 bytes")
        }
        // Request ids the CRM makes itself; a caller using one could replace or pre-empt them.
        if let k = idempotencyKey, let prefix = Self.reservedKeyPrefixes.first(where: { k.hasPrefix($0) }) {
            problems.add("idempotency_key", "the prefix \(prefix) is reserved for the CRM's own sends")
        }
        if let c = campaignId, UUID(uuidString: c) == nil { problems.add("campaign_id", "a UUID") }
        if let p = phoneNumberId, !GraphID.isValid(p) {
            problems.add("phone_number_id", "the digits of a configured phone number id")
        }
        try problems.check()
        guard let to else { throw APIError.validation(problems.items) }
        // The client's key is the request id (contract).
        return SendIntake.Ask(
            requestId: idempotencyKey ?? UUID().uuidString.lowercased(), keyGiven: idempotencyKey != nil, to: to,
            text: text, template: template.map { ($0.name ?? "", $0.language ?? "") },
            variables: template?.variables?.values ?? [:], test: test ?? false, campaignId: campaignId?.lowercased(),
            phoneNumberId: phoneNumberId)
    }
}
