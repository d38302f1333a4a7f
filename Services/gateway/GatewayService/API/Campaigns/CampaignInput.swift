import Foundation
import Hummingbird
import Storage
import WireModels

/// The body of `POST /campaigns`:
/// `{"name", "template", "language", "phone_number_id"?, "audience": {"filters": {...}}}` or
/// `"audience": {"csv": "phone,first_name\n...", "default_country"?: "BR", "skip_invalid_rows"?: false}`.
/// Shape problems are collected (not thrown) so the controller can add the catalog's and the
/// CSV's before answering 400 with all of them.
struct CampaignInput {
    enum Audience {
        case filters(AudienceFilter)
        case csv(text: String, defaultCountry: String?, skipInvalidRows: Bool)
    }

    static let fields: Set<String> = ["name", "template", "language", "phone_number_id", "audience"]
    static let audienceFields: Set<String> = ["filters", "csv", "default_country", "skip_invalid_rows"]
    static let filterFields: Set<String> = [
        "tags", "owner_id", "lead_stage", "source", "last_inbound_since", "last_inbound_before",
    ]
    /// Room for a CSV of `AudienceCSV.maxRows` short rows.
    static let maxBodyBytes = 8 << 20

    var name: String?
    var template: String?
    var language: String?
    var phoneNumberId: String?
    var audience: Audience?

    static func parse(_ request: Request) async throws -> (CampaignInput, JSONBody) {
        var body = try await JSONBody(request, allowed: fields, maxBytes: maxBodyBytes)
        var input = CampaignInput()
        input.name = body.string("name", required: true)
        input.template = body.string("template", required: true, maxLength: 512)
        input.language = body.string("language", required: true, maxLength: 20)
        input.phoneNumberId = body.string("phone_number_id", maxLength: 64)
        if let p = input.phoneNumberId, !GraphID.isValid(p) {
            body.problems.add("phone_number_id", "the digits of a configured phone number id")
        }
        if let raw = body.object("audience", required: true) {
            var audience = JSONBody(raw, allowed: audienceFields, prefix: "audience.")
            let filters = audience.object("filters")
            let csv = audience.string("csv", maxLength: maxBodyBytes)
            let country = audience.string("default_country", maxLength: 2)
            let skip = audience.bool("skip_invalid_rows") ?? false
            switch (filters, csv) {
            case (let f?, nil):
                var nested = JSONBody(f, allowed: filterFields, prefix: "audience.filters.")
                input.audience = .filters(Self.filter(&nested))
                audience.absorb(nested)
                if country != nil || raw["skip_invalid_rows"] != nil {
                    audience.problems.add("audience", "default_country and skip_invalid_rows apply to a csv audience")
                }
            case (nil, let text?):
                input.audience = .csv(text: text, defaultCountry: country, skipInvalidRows: skip)
            case (nil, nil):
                if raw["filters"] == nil && raw["csv"] == nil {
                    audience.problems.add("audience", "give filters or csv")
                }
            default:
                audience.problems.add("audience", "give filters or csv, not both")
            }
            body.absorb(audience)
        }
        return (input, body)
    }

    /// At least one filter: an audience of every contact must be asked for by a filter that
    /// says so, not by forgetting one.
    static func filter(_ body: inout JSONBody) -> AudienceFilter {
        var f = AudienceFilter()
        f.tags = body.strings(
            "tags", valid: { !$0.isEmpty && $0.count <= 100 }, expected: "a non-empty list of tags")
        f.ownerId = body.uuid("owner_id")
        f.leadStage = body.string("lead_stage")
        f.source = body.string("source")
        f.lastInboundSince = body.date("last_inbound_since")
        f.lastInboundBefore = body.date("last_inbound_before")
        if let since = f.lastInboundSince, let before = f.lastInboundBefore, since >= before {
            body.problems.add("audience.filters.last_inbound_before", "must be after last_inbound_since")
        }
        if f.isEmpty && body.problems.items.isEmpty {
            body.problems.add("audience.filters", "at least one of \(filterFields.sorted().joined(separator: ", "))")
        }
        return f
    }
}
