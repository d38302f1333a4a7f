import Foundation
import WireModels

/// What a campaign's test send vouches for: the template as synced (account, name, language,
/// Meta's template id and its components — Meta has no version number, an edit changes the
/// components) and the saved variable mapping. A launch needs a passed test for the current
/// fingerprint, so re-syncing an edited template or changing the mapping requires a new test.
public enum CampaignFingerprint {
    public static func of(_ template: TemplateRecord) throws -> String {
        let encoder = JSONCoding.encoder()  // sorted keys: the same content hashes the same
        let parts: [String] = [
            template.wabaId, template.name, template.language, template.templateId ?? "",
            String(decoding: try encoder.encode(template.components), as: UTF8.self),
            try template.mapping.map { String(decoding: try encoder.encode($0), as: UTF8.self) } ?? "no mapping",
        ]
        return Hashing.sha256Hex(Array(parts.joined(separator: "\u{1F}").utf8))
    }

    /// The columns the template mapping takes from the campaign (CSV columns).
    public static func campaignColumns(_ template: TemplateRecord) -> Set<String> {
        guard let mapping = template.mapping else { return [] }
        return Set(mapping.variables.values.compactMap { $0.source == "campaign" ? $0.field : nil })
    }
}
