import Foundation
import WireModels

/// The templates of the simulated WhatsApp Business Account, read from a fixture file in the
/// shape of Meta's listing (`{"data": [...]}` or a bare array).
public struct TemplateCatalog: Sendable {
    public enum Lookup: Sendable, Equatable {
        case found(TemplateDefinition)
        /// No template of that name in the requested language (it may exist in others).
        case missing(otherLanguages: [String])
    }

    /// In fixture order, which is the listing's order.
    public let templates: [TemplateDefinition]

    public init(templates: [TemplateDefinition]) throws {
        var seen: Set<String> = []
        for template in templates where !seen.insert("\(template.name)/\(template.language)").inserted {
            throw TemplateCatalogError(description: "template \(template.name) in \(template.language) listed twice")
        }
        self.templates = templates
    }

    public init(json: Data) throws {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: json)
        } catch {
            throw TemplateCatalogError(description: "template fixture is not JSON: \(error)")
        }
        let entries: [JSONValue]
        switch value {
        case .array(let list): entries = list
        case .object(let object) where object["data"] != nil: entries = object["data"]?.arrayValue ?? []
        default: throw TemplateCatalogError(description: "template fixture must be {\"data\": [...]} or an array")
        }
        var templates: [TemplateDefinition] = []
        for (index, entry) in entries.enumerated() {
            do {
                templates.append(try TemplateDefinition(entry))
            } catch let error as TemplateCatalogError {
                throw TemplateCatalogError(description: "templates[\(index)]: \(error.description)")
            }
        }
        try self.init(templates: templates)
    }

    /// Reads SIMULATOR_TEMPLATES_FILE (a path relative to the working directory or absolute).
    public init(file path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TemplateCatalogError(description: "cannot read template fixture \(path): \(error)")
        }
        do {
            try self.init(json: data)
        } catch let error as TemplateCatalogError {
            throw TemplateCatalogError(description: "\(path): \(error.description)")
        }
    }

    /// The catalog compiled into the simulator (a copy of `Tools/simulator/Fixtures/templates.json`).
    public static func bundled() throws -> TemplateCatalog {
        try TemplateCatalog(json: Data(BundledTemplates.json.utf8))
    }

    public func lookup(name: String, language: String) -> Lookup {
        var languages: [String] = []
        for template in templates where template.name == name {
            if template.language == language { return .found(template) }
            languages.append(template.language)
        }
        return .missing(otherLanguages: languages)
    }
}
