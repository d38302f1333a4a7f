import Foundation
import WireModels

/// Turns resolved variable values into the `components` of a Cloud API template send, and
/// renders the text a recipient will read (previews, the outbound `messages` row).
public enum TemplateComponents {
    public static func build(_ template: TemplateRecord, values: [String: String]) -> [JSONValue] {
        var header: [JSONValue] = []
        var body: [JSONValue] = []
        var buttons: [Int: (subType: String, parameters: [JSONValue])] = [:]
        for variable in template.variables {
            let value = values[variable.id] ?? ""
            var parameter: [String: JSONValue]
            switch variable.kind {
            case .text:
                parameter = ["type": .string("text"), "text": .string(value)]
                if template.isNamed && variable.component != "button" {
                    parameter["parameter_name"] = .string(variable.name)
                }
            case .image, .video, .document:
                let key = variable.kind.rawValue
                parameter = ["type": .string(key), key: .object(["link": .string(value)])]
            case .location:
                let (lat, long) = coordinates(value) ?? (0, 0)
                parameter = [
                    "type": .string("location"),
                    "location": .object(["latitude": .number(lat), "longitude": .number(long)]),
                ]
            case .couponCode:
                parameter = ["type": .string("coupon_code"), "coupon_code": .string(value)]
            }
            switch variable.component {
            case "header": header.append(.object(parameter))
            case "body": body.append(.object(parameter))
            default:
                let index = variable.buttonIndex ?? 0
                var entry = buttons[index] ?? (subType: variable.buttonSubType ?? "url", parameters: [])
                entry.parameters.append(.object(parameter))
                buttons[index] = entry
            }
        }
        var components: [JSONValue] = []
        if !header.isEmpty {
            components.append(.object(["type": .string("header"), "parameters": .array(header)]))
        }
        if !body.isEmpty { components.append(.object(["type": .string("body"), "parameters": .array(body)])) }
        for index in buttons.keys.sorted() {
            let button = buttons[index]!
            components.append(
                .object([
                    "type": .string("button"), "sub_type": .string(button.subType), "index": .string(String(index)),
                    "parameters": .array(button.parameters),
                ]))
        }
        return components
    }

    /// Header, body, footer and button texts with the values filled in (placeholders without
    /// a value stay as they are).
    public static func render(_ template: TemplateRecord, values: [String: String]) -> RenderedTemplate {
        var rendered = RenderedTemplate()
        for component in template.components.arrayValue {
            let type = component["type"]?.stringValue?.uppercased() ?? ""
            let text = component["text"]?.stringValue
            switch type {
            case "HEADER":
                if let text {
                    rendered.header = fill(text, prefix: "header", values: values)
                } else if let media = template.variables.first(where: { $0.component == "header" }) {
                    rendered.header = "[\(media.kind.rawValue): \(values[media.id] ?? "?")]"
                }
            case "BODY": rendered.body = fill(text ?? "", prefix: "body", values: values)
            case "FOOTER": rendered.footer = text
            case "BUTTONS":
                for (index, button) in (component["buttons"]?.arrayValue ?? []).enumerated() {
                    var label = button["text"]?.stringValue ?? button["type"]?.stringValue ?? "button"
                    if let url = button["url"]?.stringValue {
                        label += " → " + fill(url, prefix: "button.\(index)", values: values)
                    }
                    if let code = values["button.\(index).coupon_code"] { label += " (\(code))" }
                    rendered.buttons.append(label)
                }
            default: break
            }
        }
        return rendered
    }

    static func fill(_ text: String, prefix: String, values: [String: String]) -> String {
        var out = text
        for name in TemplateVariables.placeholders(in: text) {
            guard let value = values["\(prefix).\(name)"] else { continue }
            out = out.replacingOccurrences(of: "{{\(name)}}", with: value)
        }
        return out
    }

    static func coordinates(_ value: String) -> (Double, Double)? {
        let parts = value.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let lat = parts[0], let long = parts[1], abs(lat) <= 90, abs(long) <= 180 else {
            return nil
        }
        return (lat, long)
    }
}

/// What the recipient reads.
public struct RenderedTemplate: Codable, Sendable, Equatable {
    public var header: String?
    public var body: String = ""
    public var footer: String?
    public var buttons: [String] = []

    /// One text for the `messages` row.
    public var text: String {
        ([header, body, footer].compactMap { $0 } + buttons).joined(separator: "\n")
    }
}
