import Foundation
import WireModels

/// Where each variable of a template takes its value from at send time: a contact field, a
/// lead field, a campaign column (a value the campaign or the API request carries under that
/// name) or a literal.
public struct TemplateMapping: Codable, Sendable, Equatable {
    public struct Source: Codable, Sendable, Equatable {
        public var source: String
        public var field: String?
        public var value: String?

        public init(source: String, field: String? = nil, value: String? = nil) {
            self.source = source
            self.field = field
            self.value = value
        }
    }

    public static let contactFields: Set<String> = ["name", "profile_name", "phone", "wa_id"]
    public static let leadFields: Set<String> = ["stage", "status", "source"]
    public static let sources = ["contact", "lead", "campaign", "literal"]

    public var variables: [String: Source]

    public init(variables: [String: Source]) {
        self.variables = variables
    }

    /// `1` or `first_name` alone mean the body variable (`body.1`, `body.first_name`).
    public static func canonical(_ key: String) -> String { key.contains(".") ? key : "body." + key }

    /// Every problem with this mapping for `template`; empty = valid.
    public func problems(for template: TemplateRecord) -> [String] {
        var problems: [String] = []
        let known = Set(template.variables.map(\.id))
        for key in variables.keys.sorted() where !known.contains(key) {
            let list = template.variables.map(\.id).joined(separator: ", ")
            problems.append("\(key): not a variable of \(template.name) (variables: \(list.isEmpty ? "none" : list))")
        }
        for variable in template.variables {
            guard let source = variables[variable.id] else {
                problems.append("\(variable.id): not mapped")
                continue
            }
            switch source.source {
            case "contact", "lead":
                let allowed = source.source == "contact" ? Self.contactFields : Self.leadFields
                guard let field = source.field, allowed.contains(field) else {
                    problems.append(
                        "\(variable.id): \(source.source) field must be one of \(allowed.sorted().joined(separator: ", "))"
                    )
                    continue
                }
                if variable.kind != .text {
                    problems.append(
                        "\(variable.id): a \(variable.kind.rawValue) variable cannot take the text field "
                            + "\(source.source).\(field); map it to a literal or a campaign column")
                }
            case "campaign":
                if (source.field ?? "").isEmpty {
                    problems.append("\(variable.id): campaign column name (field) required")
                }
            case "literal":
                guard let value = source.value, !value.isEmpty else {
                    problems.append("\(variable.id): literal value required")
                    continue
                }
                problems += template.valueProblems(in: [variable.id: value])
            default:
                problems.append("\(variable.id): source must be one of \(Self.sources.joined(separator: ", "))")
            }
        }
        return problems
    }

    /// Values for a preview: literals as they are, the rest as `{contact.name}` markers.
    public func previewValues(for template: TemplateRecord) -> [String: String] {
        var values: [String: String] = [:]
        for variable in template.variables {
            guard let source = variables[variable.id] else { continue }
            values[variable.id] =
                source.source == "literal" ? source.value ?? "" : "{\(source.source).\(source.field ?? "")}"
        }
        return values
    }

    /// Values at send time; a source with no value (no contact, empty field) is left out.
    public func resolve(
        for template: TemplateRecord, contact: [String: String], lead: [String: String], columns: [String: String]
    ) -> [String: String] {
        var values: [String: String] = [:]
        for variable in template.variables {
            guard let source = variables[variable.id] else { continue }
            let value: String?
            switch source.source {
            case "contact": value = contact[source.field ?? ""]
            case "lead": value = lead[source.field ?? ""]
            case "campaign": value = columns[source.field ?? ""]
            default: value = source.value
            }
            if let value, !value.isEmpty { values[variable.id] = value }
        }
        return values
    }
}
