import Foundation
import WireModels

/// One variable of a template, found at sync time in its header, body or buttons. `id` is how
/// sends, mappings and errors name it: `header.1`, `header.first_name`, `header.image` (a media
/// header), `body.2`, `body.first_name`, `button.0.1` (URL suffix), `button.1.coupon_code`.
public struct TemplateVariable: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case text
        case image, video, document
        /// `latitude,longitude`
        case location
        case couponCode = "coupon_code"
    }

    public var id: String
    public var component: String
    public var name: String
    public var kind: Kind
    public var buttonIndex: Int?
    public var buttonSubType: String?
    public var example: String?

    public init(
        id: String, component: String, name: String, kind: Kind, buttonIndex: Int? = nil, buttonSubType: String? = nil,
        example: String? = nil
    ) {
        self.id = id
        self.component = component
        self.name = name
        self.kind = kind
        self.buttonIndex = buttonIndex
        self.buttonSubType = buttonSubType
        self.example = example
    }

    enum CodingKeys: String, CodingKey {
        case id, component, name, kind
        case buttonIndex = "button_index"
        case buttonSubType = "button_sub_type"
        case example
    }

    public var isMedia: Bool { kind == .image || kind == .video || kind == .document }
}

/// Finds `{{…}}` placeholders and the variables of a template's components as Meta lists them.
public enum TemplateVariables {
    /// Placeholder names in order of first appearance (`{{ 1 }}` → `1`), each once.
    public static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            let after = rest[open.upperBound...]
            guard let close = after.range(of: "}}") else { break }
            let name = after[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, !names.contains(name) { names.append(name) }
            rest = after[close.upperBound...]
        }
        return names
    }

    /// Positional names sorted by number (Meta's parameter order is 1, 2, 3 …), named ones as they appear.
    static func ordered(_ names: [String], positional: Bool) -> [String] {
        positional ? names.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) } : names
    }

    public static func extract(components: JSONValue, parameterFormat: String) -> [TemplateVariable] {
        let positional = parameterFormat.uppercased() != "NAMED"
        var out: [TemplateVariable] = []
        for component in components.arrayValue {
            let type = component["type"]?.stringValue?.uppercased() ?? ""
            switch type {
            case "HEADER":
                let format = component["format"]?.stringValue?.uppercased() ?? "TEXT"
                switch format {
                case "TEXT":
                    let names = ordered(placeholders(in: component["text"]?.stringValue ?? ""), positional: positional)
                    let examples = exampleValues(component["example"], textKey: "header_text", positional: positional)
                    for (i, name) in names.enumerated() {
                        out.append(
                            .init(
                                id: "header.\(name)", component: "header", name: name, kind: .text,
                                example: positional ? examples.list[safe: i] : examples.named[name]))
                    }
                case "IMAGE", "VIDEO", "DOCUMENT":
                    let kind = TemplateVariable.Kind(rawValue: format.lowercased()) ?? .image
                    out.append(
                        .init(
                            id: "header.\(kind.rawValue)", component: "header", name: kind.rawValue, kind: kind,
                            example: component["example"]?["header_handle"]?.arrayValue.first?.stringValue))
                case "LOCATION":
                    out.append(.init(id: "header.location", component: "header", name: "location", kind: .location))
                default:
                    break
                }
            case "BODY":
                let names = ordered(placeholders(in: component["text"]?.stringValue ?? ""), positional: positional)
                let examples = exampleValues(component["example"], textKey: "body_text", positional: positional)
                for (i, name) in names.enumerated() {
                    out.append(
                        .init(
                            id: "body.\(name)", component: "body", name: name, kind: .text,
                            example: positional ? examples.list[safe: i] : examples.named[name]))
                }
            case "BUTTONS":
                for (index, button) in (component["buttons"]?.arrayValue ?? []).enumerated() {
                    let buttonType = button["type"]?.stringValue?.uppercased() ?? ""
                    switch buttonType {
                    case "URL", "OTP":
                        for name in placeholders(in: button["url"]?.stringValue ?? "") {
                            out.append(
                                .init(
                                    id: "button.\(index).\(name)", component: "button", name: name, kind: .text,
                                    buttonIndex: index, buttonSubType: "url",
                                    example: button["example"]?.arrayValue.first?.stringValue))
                        }
                    case "COPY_CODE":
                        out.append(
                            .init(
                                id: "button.\(index).coupon_code", component: "button", name: "coupon_code",
                                kind: .couponCode, buttonIndex: index, buttonSubType: "copy_code",
                                example: button["example"]?.stringValue
                                    ?? button["example"]?.arrayValue.first?.stringValue
                            ))
                    default:
                        break
                    }
                }
            default:
                break
            }
        }
        return out
    }

    /// `example.body_text[0]` (positional) or `example.body_text_named_params` (named).
    static func exampleValues(_ example: JSONValue?, textKey: String, positional: Bool) -> (
        list: [String], named: [String: String]
    ) {
        guard let example else { return ([], [:]) }
        if positional {
            let raw = example[textKey]
            // body_text is a list of lists, header_text a flat list.
            let first = raw?.arrayValue.first
            if case .array(let inner)? = first { return (inner.compactMap(\.stringValue), [:]) }
            return (raw?.arrayValue.compactMap(\.stringValue) ?? [], [:])
        }
        var named: [String: String] = [:]
        for item in example[textKey + "_named_params"]?.arrayValue ?? [] {
            if let name = item["param_name"]?.stringValue { named[name] = item["example"]?.stringValue }
        }
        return ([], named)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
