import CRMCore
import Foundation
import Hummingbird
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// Campaigns (managers and admins; agents 403): `GET/POST /campaigns`, `GET /campaigns/{id}`,
/// `GET /campaigns/{id}/report`, `GET /campaigns/{id}/recipients`, and the actions in
/// `CampaignActions.swift` (test-send, launch, pause). The audience is materialized into
/// `campaign_recipients` when the campaign is created; `CampaignRollout` publishes it.
struct CampaignsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let intake: SendIntake
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("campaigns") { request, _ in try await self.list(request) }
        group.post("campaigns") { request, _ in try await self.create(request) }
        group.get("campaigns/:id") { request, context in
            try await self.show(request, id: try uuidParameter(context, what: "campaign"))
        }
        group.get("campaigns/:id/report") { request, context in
            try await self.report(request, id: try uuidParameter(context, what: "campaign"))
        }
        group.get("campaigns/:id/recipients") { request, context in
            try await self.recipients(request, id: try uuidParameter(context, what: "campaign"))
        }
        group.post("campaigns/:id/test-send") { request, context in
            try await self.testSend(request, id: try uuidParameter(context, what: "campaign"))
        }
        group.post("campaigns/:id/launch") { request, context in
            try await self.launch(request, id: try uuidParameter(context, what: "campaign"))
        }
        group.post("campaigns/:id/pause") { request, context in
            try await self.pause(request, id: try uuidParameter(context, what: "campaign"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .manageCampaigns)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let cursor = page.keyset(&problems)
        let state = QueryParameters(request).oneOf("state", CampaignState.allCases.map(\.rawValue), &problems)
        try problems.check()
        let (rows, last) = try await CampaignStore.list(
            state: state.flatMap(CampaignState.init(rawValue:)), after: cursor, limit: page.limit, on: postgres,
            logger: logger)
        return try json(page.page(rows) { _ in last?.text ?? "" })
    }

    func show(_ request: Request, id: UUID) async throws -> Response {
        _ = try await auth.access(request, .manageCampaigns)
        return try json(try await refreshed(try await campaign(id)))
    }

    func campaign(_ id: UUID) async throws -> CampaignRow {
        guard let row = try await CampaignStore.get(id: id, on: postgres, logger: logger) else {
            throw APIError.notFound("no campaign \(id.uuidString.lowercased())")
        }
        return row
    }

    func create(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .manageCampaigns)
        let parsed = try await CampaignInput.parse(request)
        let input = parsed.0
        var body = parsed.1
        var template: TemplateRecord?
        if let name = input.template, let language = input.language {
            template = try await TemplateStore.get(
                name: name, language: language, wabaId: intake.defaultWabaId, on: postgres, logger: logger)
            if template == nil {
                body.problems.add("template", "\(name) in \(language) is not in the synced catalog")
            }
        }
        if let p = input.phoneNumberId, GraphID.isValid(p),
            !(try await PhoneNumberStore.isConfigured(
                p, default: intake.defaultPhoneNumberId, on: postgres, logger: logger))
        {
            body.problems.add("phone_number_id", "\(p) is not a configured phone number")
        }
        let needed = template.map(CampaignFingerprint.campaignColumns) ?? []
        var csv: AudienceCSV?
        switch input.audience {
        case .filters?:
            if !needed.isEmpty {
                body.problems.add(
                    "audience.filters",
                    "the template mapping takes campaign columns (\(needed.sorted().joined(separator: ", "))), "
                        + "which only a csv audience has")
            }
        case .csv(let text, let country, let skip)?:
            do throws(AudienceCSV.Invalid) {
                let parsed = try AudienceCSV.parse(text, required: needed, defaultCountry: country)
                if !skip {
                    for bad in parsed.rejected { body.problems.add("audience.csv", "row \(bad.row): \(bad.reason)") }
                }
                csv = parsed
            } catch {
                for p in error.problems { body.problems.add("audience.csv", p) }
            }
        case nil:
            break
        }
        try body.problems.check()
        guard let name = input.name, let template, let audience = input.audience else {
            throw APIError.validation([FieldProblem("audience", "required")])
        }
        let definition: JSONValue
        if let csv {
            definition = .object([
                "csv": .object([
                    "columns": .array(csv.columns.map(JSONValue.string)),
                    "rows": .number(Double(csv.members.count + csv.rejected.count)),
                ])
            ])
        } else if case .filters(let filter) = audience {
            definition = .object(["filters": try JSONValue(encoding: filter)])
        } else {
            definition = .object([:])
        }
        let created = try await postgres.transaction(logger: logger) { conn in
            var selection = AudienceSelection()
            if let csv {
                let optedOut = try await CampaignStore.optedOut(csv.members.map(\.phone), on: conn, logger: logger)
                selection.members = csv.members.filter { !optedOut.contains($0.phone) }
                selection.optedOut = optedOut.count
            } else if case .filters(let filter) = audience {
                selection = try await CampaignStore.select(filter, on: conn, logger: logger)
            }
            guard !selection.members.isEmpty else {
                throw APIError(
                    .unprocessableContent, "empty_audience",
                    "the audience has no recipients (\(selection.optedOut) opted out, \(selection.noPhone) without "
                        + "a phone number excluded)")
            }
            let row = try await CampaignStore.create(
                name: name, template: template.name, language: template.language, phoneNumberId: input.phoneNumberId,
                audience: definition, createdBy: access.actor, on: conn, logger: logger)
            let rejected = try JSONValue(encoding: csv?.rejected ?? [])
            let done = try await CampaignStore.materialize(
                selection.members, campaignId: row.id, excludedOptedOut: selection.optedOut,
                excludedNoPhone: selection.noPhone, rejectedRows: rejected, on: conn, logger: logger)
            try await AuditStore.record(
                actor: access.actor, action: "campaign.create", entity: "campaign",
                entityId: row.id.uuidString.lowercased(), before: nil, after: try done.json, on: conn, logger: logger)
            return done
        }
        logger.info(
            "campaign created",
            metadata: [
                "campaign_id": "\(created.id)", "recipients": "\(created.recipients)",
                "excluded_opted_out": "\(created.excludedOptedOut)",
            ])
        return try json(created, status: .created)
    }

    func report(_ request: Request, id: UUID) async throws -> Response {
        _ = try await auth.access(request, .manageCampaigns)
        let row = try await campaign(id)
        let report = try await CampaignStore.report(campaign: row, on: postgres, logger: logger)
        guard case .object(var out) = try JSONValue(encoding: report) else { return try json(report) }
        out["campaign_id"] = .string(id.uuidString.lowercased())
        out["state"] = .string(row.state.rawValue)
        return try json(JSONValue.object(out))
    }

    static let recipientStates = ["pending", "queued", "sent", "delivered", "read", "failed"]

    func recipients(_ request: Request, id: UUID) async throws -> Response {
        _ = try await auth.access(request, .manageCampaigns)
        var problems = Problems()
        let page = ListPage(request, problems: &problems)
        let state = QueryParameters(request).oneOf("state", Self.recipientStates, &problems)
        _ = page.decodedKey({ !$0.isEmpty && $0.allSatisfy(\.isNumber) ? $0 : nil }, &problems)
        try problems.check()
        _ = try await campaign(id)
        let rows = try await CampaignStore.recipients(
            campaignId: id, state: state, after: page.key, limit: page.limit, on: postgres, logger: logger)
        return try json(page.page(rows) { String($0.phone.dropFirst()) })
    }
}
