import Foundation
import WireModels

/// A template as synced from Meta, with its variables extracted.
public struct TemplateRecord: Codable, Sendable, Equatable {
    public var wabaId: String
    public var name: String
    public var language: String
    public var templateId: String?
    public var status: String
    public var category: String?
    public var parameterFormat: String
    public var components: JSONValue
    public var variables: [TemplateVariable]
    public var qualityScore: String?
    public var rejectedReason: String?
    public var mapping: TemplateMapping?
    public var syncedAt: Date?

    public init(
        wabaId: String, name: String, language: String, templateId: String?, status: String, category: String?,
        parameterFormat: String, components: JSONValue, qualityScore: String? = nil, rejectedReason: String? = nil
    ) {
        self.wabaId = wabaId
        self.name = name
        self.language = language
        self.templateId = templateId
        self.status = status
        self.category = category
        self.parameterFormat = parameterFormat
        self.components = components
        self.variables = TemplateVariables.extract(components: components, parameterFormat: parameterFormat)
        self.qualityScore = qualityScore
        self.rejectedReason = rejectedReason
    }

    /// From one item of `GET /{waba-id}/message_templates`.
    public init?(meta item: JSONValue, wabaId: String) {
        guard let name = item["name"]?.stringValue, let language = item["language"]?.stringValue,
            let status = item["status"]?.stringValue
        else { return nil }
        self.init(
            wabaId: wabaId, name: name, language: language, templateId: item["id"]?.stringValue,
            status: status.uppercased(), category: item["category"]?.stringValue?.uppercased(),
            parameterFormat: item["parameter_format"]?.stringValue?.uppercased() ?? "POSITIONAL",
            components: item["components"] ?? .array([]),
            qualityScore: item["quality_score"]?["score"]?.stringValue,
            rejectedReason: item["rejected_reason"]?.stringValue)
    }

    enum CodingKeys: String, CodingKey {
        case wabaId = "waba_id"
        case name, language
        case templateId = "template_id"
        case status, category
        case parameterFormat = "parameter_format"
        case components, variables
        case qualityScore = "quality_score"
        case rejectedReason = "rejected_reason"
        case mapping
        case syncedAt = "synced_at"
    }

    public var isMarketing: Bool { category == "MARKETING" }
    public var isNamed: Bool { parameterFormat == "NAMED" }

    /// Ids of variables with no (non-empty) value.
    public func missing(in values: [String: String]) -> [String] {
        variables.filter { (values[$0.id] ?? "").isEmpty }.map(\.id)
    }

    /// Problems with values that are present: media must be an http(s) link, a location
    /// `lat,long`, a coupon code at most 15 characters, body text without new lines or tabs.
    public func valueProblems(in values: [String: String]) -> [String] {
        var problems: [String] = []
        for variable in variables {
            guard let value = values[variable.id], !value.isEmpty else { continue }
            switch variable.kind {
            case .image, .video, .document:
                if !(value.hasPrefix("https://") || value.hasPrefix("http://")) {
                    problems.append("\(variable.id): a \(variable.kind.rawValue) header needs an http(s) link")
                }
            case .location:
                if TemplateComponents.coordinates(value) == nil {
                    problems.append("\(variable.id): a location is 'latitude,longitude'")
                }
            case .couponCode:
                if value.count > 15 { problems.append("\(variable.id): a coupon code is at most 15 characters") }
            case .text:
                if variable.component == "body", value.contains(where: { $0 == "\n" || $0 == "\t" }) {
                    problems.append("\(variable.id): body values cannot contain new lines or tabs")
                }
            }
        }
        return problems
    }
}
