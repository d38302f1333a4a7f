import Foundation
import WireModels

/// One message template as `GET /{waba-id}/message_templates` returns it, with what sending it
/// requires: the variables of its header, body and buttons.
public struct TemplateDefinition: Sendable, Equatable {
    public enum ParameterFormat: String, Sendable {
        case positional = "POSITIONAL"
        case named = "NAMED"
    }

    public enum Header: Sendable, Equatable {
        /// A text header; `variables` are the distinct `{{…}}` names in order of appearance.
        case text(variables: [String])
        /// IMAGE, VIDEO or DOCUMENT: the send must carry one parameter of that type.
        case media(format: String)
        /// A location header: the send must carry one `location` parameter.
        case location
    }

    public struct Button: Sendable, Equatable {
        public var index: Int
        /// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG…
        public var type: String
        /// `{{…}}` names in the button's URL (URL buttons; authentication templates' copy-code URL).
        public var variables: [String]

        /// Parameters a send must provide for this button.
        public var requiredParameters: Int {
            switch type {
            case "URL": return variables.count
            case "COPY_CODE", "OTP": return 1
            default: return 0
            }
        }

        /// Parameters a send may provide (a quick reply's payload, a flow's action…).
        public var maximumParameters: Int { max(requiredParameters, type == "PHONE_NUMBER" ? 0 : 1) }

        /// The parameter `type` a send uses for this button.
        public var parameterType: String {
            switch type {
            case "URL", "OTP": return "text"
            case "COPY_CODE": return "coupon_code"
            case "QUICK_REPLY": return "payload"
            default: return "action"
            }
        }

        /// The request's `sub_type` that addresses this button.
        public func accepts(subType: String) -> Bool {
            let subType = subType.uppercased()
            return subType == type || (subType == "URL" && type == "OTP")
        }
    }

    public var id: String
    public var name: String
    public var language: String
    public var status: String
    public var category: String
    public var parameterFormat: ParameterFormat
    public var header: Header?
    public var bodyText: String
    public var bodyVariables: [String]
    public var buttons: [Button]
    /// The template exactly as the fixture has it (what the listing returns).
    public var raw: JSONValue

    /// Reads one entry of a `message_templates` listing.
    public init(_ raw: JSONValue) throws {
        func field(_ name: String) throws -> String {
            guard let value = raw[name]?.stringValue, !value.isEmpty else {
                throw TemplateCatalogError(description: "template field '\(name)' missing")
            }
            return value
        }
        self.raw = raw
        name = try field("name")
        language = try field("language")
        status = try field("status").uppercased()
        id = raw["id"]?.stringValue ?? "sim-\(name)-\(language)"
        category = raw["category"]?.stringValue?.uppercased() ?? "UTILITY"
        let format = raw["parameter_format"]?.stringValue?.uppercased() ?? "POSITIONAL"
        guard let parameterFormat = ParameterFormat(rawValue: format) else {
            throw TemplateCatalogError(description: "template \(name)/\(language): unknown parameter_format \(format)")
        }
        self.parameterFormat = parameterFormat
        header = nil
        bodyText = ""
        bodyVariables = []
        buttons = []
        for component in raw["components"]?.arrayValue ?? [] {
            switch component["type"]?.stringValue?.uppercased() {
            case "HEADER":
                switch component["format"]?.stringValue?.uppercased() ?? "TEXT" {
                case "TEXT":
                    header = .text(variables: Self.variables(in: component["text"]?.stringValue ?? ""))
                case "LOCATION": header = .location
                case let media: header = .media(format: media)
                }
            case "BODY":
                bodyText = component["text"]?.stringValue ?? ""
                bodyVariables = Self.variables(in: bodyText)
            case "BUTTONS":
                for (index, button) in (component["buttons"]?.arrayValue ?? []).enumerated() {
                    buttons.append(
                        Button(
                            index: index, type: button["type"]?.stringValue?.uppercased() ?? "QUICK_REPLY",
                            variables: Self.variables(in: button["url"]?.stringValue ?? "")))
                }
            default:
                continue
            }
        }
    }

    /// The template's pricing category as webhooks spell it (`marketing`, `utility`, `authentication`).
    public var pricingCategory: String { category.lowercased() }

    /// Distinct `{{name}}` variables of `text`, in order of first appearance.
    public static func variables(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { break }
            let name = after[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty && !names.contains(name) { names.append(name) }
            rest = after[close.upperBound...]
        }
        return names
    }

    /// `text` with each `{{name}}` replaced by its value (unknown names are left as they are).
    public static func render(_ text: String, values: [String: String]) -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { break }
            out += rest[..<open.lowerBound]
            let name = after[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            out += values[name] ?? "{{\(name)}}"
            rest = after[close.upperBound...]
        }
        return out + rest
    }
}

public struct TemplateCatalogError: Error, CustomStringConvertible {
    public let description: String
}
