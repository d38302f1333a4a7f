import Foundation
import WireModels

/// The `template` object of a send, checked against the catalog like Meta does:
/// - unknown name, unknown language or a status other than APPROVED/PAUSED/DISABLED → 132001;
/// - PAUSED → 132015, DISABLED → 132016;
/// - parameter count per component (header, body, each button) ≠ the template's variables → 132000;
/// - NAMED templates: a parameter without `parameter_name` → 100; names ≠ the variables → 132012;
/// - a parameter of the wrong type → 132012; a parameter without its value → 131008;
/// - body parameters with new lines, tabs or 5+ spaces → 132018; rendered body > 1024 → 132005.
struct TemplateValidator: Sendable {
    static let maximumBodyLength = 1024
    static let bodyParameterTypes: Set<String> = ["text", "currency", "date_time"]

    let catalog: TemplateCatalog

    func validate(_ request: JSONValue?) throws(GraphError) -> TemplateDefinition {
        guard let request, case .object = request else { throw GraphError.missingParameter("template") }
        guard let name = request["name"]?.stringValue, !name.isEmpty else {
            throw GraphError.missingParameter("template['name']")
        }
        guard let language = request["language"]?["code"]?.stringValue, !language.isEmpty else {
            throw GraphError.missingParameter("template['language']")
        }
        let template = try approved(name: name, language: language)
        let components = try RequestComponents(request["components"], template: template)
        try checkHeader(template, components.header)
        try checkBody(template, components.body)
        try checkButtons(template, components.buttons)
        return template
    }

    func approved(name: String, language: String) throws(GraphError) -> TemplateDefinition {
        switch catalog.lookup(name: name, language: language) {
        case .missing(let others):
            let hint = others.isEmpty ? "" : " (it exists in \(others.joined(separator: ", ")))"
            throw GraphError.code(132001, details: "template name (\(name)) does not exist in \(language)\(hint)")
        case .found(let template):
            switch template.status {
            case "APPROVED":
                return template
            case "PAUSED":
                throw GraphError.code(
                    132015, details: "Cannot send template \(name) in \(language): it is paused due to low quality")
            case "DISABLED":
                throw GraphError.code(132016, details: "Cannot send template \(name) in \(language): it is disabled")
            case let status:
                throw GraphError.code(
                    132001, details: "template name (\(name)) in \(language) is \(status), not APPROVED")
            }
        }
    }

    // MARK: Components

    func checkHeader(_ template: TemplateDefinition, _ parameters: [JSONValue]) throws(GraphError) {
        switch template.header {
        case nil:
            try Self.count("header", parameters, expected: 0)
        case .text(let variables):
            try Self.count("header", parameters, expected: variables.count)
            try checkNames("header", template, parameters, variables: variables)
            for parameter in parameters { try Self.value("header", parameter, allowed: Self.bodyParameterTypes) }
        case .media(let format):
            try Self.count("header", parameters, expected: 1)
            try Self.value("header", parameters[0], allowed: [format.lowercased()])
        case .location:
            try Self.count("header", parameters, expected: 1)
            try Self.value("header", parameters[0], allowed: ["location"])
        }
    }

    func checkBody(_ template: TemplateDefinition, _ parameters: [JSONValue]) throws(GraphError) {
        try Self.count("body", parameters, expected: template.bodyVariables.count)
        try checkNames("body", template, parameters, variables: template.bodyVariables)
        var values: [String: String] = [:]
        for (index, parameter) in parameters.enumerated() {
            let value = try Self.value("body", parameter, allowed: Self.bodyParameterTypes)
            if value.contains(where: { $0 == "\n" || $0 == "\t" }) || value.contains("     ") {
                throw GraphError.code(132018)
            }
            let key =
                template.parameterFormat == .named
                ? parameter["parameter_name"]?.stringValue ?? "" : template.bodyVariables[index]
            values[key] = value
        }
        let rendered = TemplateDefinition.render(template.bodyText, values: values)
        guard rendered.count <= Self.maximumBodyLength else {
            throw GraphError.code(
                132005, details: "body is \(rendered.count) characters with its parameters, at most 1024")
        }
    }

    func checkButtons(_ template: TemplateDefinition, _ sent: [Int: [JSONValue]]) throws(GraphError) {
        for button in template.buttons {
            let parameters = sent[button.index] ?? []
            let place = "button at index \(button.index) (\(button.type))"
            if parameters.count < button.requiredParameters || parameters.count > button.maximumParameters {
                throw Self.mismatch(place, given: parameters.count, expected: button.requiredParameters)
            }
            for parameter in parameters { try Self.value(place, parameter, allowed: [button.parameterType]) }
        }
    }

    /// NAMED templates: every parameter names its variable, and the names are the template's.
    func checkNames(
        _ place: String, _ template: TemplateDefinition, _ parameters: [JSONValue], variables: [String]
    ) throws(GraphError) {
        guard template.parameterFormat == .named else { return }
        var names: [String] = []
        for parameter in parameters {
            guard let name = parameter["parameter_name"]?.stringValue, !name.isEmpty else {
                throw GraphError.invalidParameter(
                    "\(place): parameter_name is required for each parameter of the NAMED template \(template.name)")
            }
            names.append(name)
        }
        guard Set(names) == Set(variables), names.count == Set(names).count else {
            throw GraphError.code(
                132012,
                details: "\(place): parameter names \(names.sorted()) do not match the template's \(variables.sorted())"
            )
        }
    }

    // MARK: Parameters

    static func count(_ place: String, _ parameters: [JSONValue], expected: Int) throws(GraphError) {
        guard parameters.count == expected else { throw mismatch(place, given: parameters.count, expected: expected) }
    }

    static func mismatch(_ place: String, given: Int, expected: Int) -> GraphError {
        GraphError.code(
            132000,
            details:
                "\(place): number of localizable_params (\(given)) does not match the expected number of params "
                + "(\(expected))"
        )
    }

    /// The parameter's value (text, or a fallback for currency/date_time, or a media link/id);
    /// 132012 when its type is not allowed here, 131008 when the value is missing.
    @discardableResult
    static func value(_ place: String, _ parameter: JSONValue, allowed: Set<String>) throws(GraphError) -> String {
        guard let type = parameter["type"]?.stringValue, allowed.contains(type) else {
            let type = parameter["type"]?.stringValue ?? "(none)"
            throw GraphError.code(
                132012, details: "\(place): parameter type \(type) is not one of \(allowed.sorted())")
        }
        let content = parameter[type]
        let value: String?
        switch type {
        case "currency":
            let complete =
                content?["code"]?.stringValue != nil && content?["amount_1000"]?.doubleValue != nil
            value = complete ? content?["fallback_value"]?.stringValue : nil
        case "date_time":
            value = content?["fallback_value"]?.stringValue
        case "image", "video", "document":
            value = content?["link"]?.stringValue ?? content?["id"]?.stringValue
        case "location":
            value = content?["latitude"]?.doubleValue != nil && content?["longitude"]?.doubleValue != nil ? "" : nil
        case "action":
            value = content == nil ? nil : ""
        default:
            value = content?.stringValue
        }
        guard let value, type == "location" || type == "action" || !value.isEmpty else {
            throw GraphError.code(131008, details: "\(place): parameter \(type) has no value")
        }
        return value
    }
}

/// The request's `components`, grouped: header and body parameters, button parameters by index.
struct RequestComponents {
    var header: [JSONValue] = []
    var body: [JSONValue] = []
    var buttons: [Int: [JSONValue]] = [:]

    init(_ components: JSONValue?, template: TemplateDefinition) throws(GraphError) {
        var seen: Set<String> = []
        for component in components?.arrayValue ?? [] {
            let type = component["type"]?.stringValue?.lowercased() ?? ""
            let parameters = component["parameters"]?.arrayValue ?? []
            switch type {
            case "header", "body":
                guard seen.insert(type).inserted else {
                    throw GraphError.invalidParameter("\(type) component repeated")
                }
                if type == "header" { header = parameters } else { body = parameters }
            case "button":
                guard let subType = component["sub_type"]?.stringValue else {
                    throw GraphError.missingParameter("template['components'][]['sub_type']")
                }
                guard let index = component["index"]?.stringValue.flatMap({ Int($0) }) else {
                    throw GraphError.missingParameter("template['components'][]['index']")
                }
                guard let button = template.buttons.first(where: { $0.index == index }) else {
                    throw GraphError.invalidParameter("button at index \(index) does not exist in \(template.name)")
                }
                guard button.accepts(subType: subType) else {
                    throw GraphError.code(
                        131009, details: "button at index \(index) is a \(button.type) button, not \(subType)")
                }
                guard buttons[index] == nil else {
                    throw GraphError.invalidParameter("button at index \(index) repeated")
                }
                buttons[index] = parameters
            default:
                throw GraphError.invalidParameter("component type '\(type)' is not one of header, body, button")
            }
        }
    }
}
