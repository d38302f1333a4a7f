import CRMCore
import Foundation
import Hummingbird
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// The test-send gate and the state-changing actions. A launch needs a *passed* test send for
/// the current template + mapping (`CampaignFingerprint`): every configured test recipient's
/// send was accepted by Meta (the simulator or Graph API answered with a wamid) and none has
/// failed since. Test sends do not carry the campaign id, so they never count in its reports.
extension CampaignsController {
    /// The system actor of state changes nobody asked for directly (test passed, finished).
    static let systemActor = "system"

    /// The template the campaign sends now; 422 when it left the catalog.
    func currentTemplate(_ campaign: CampaignRow) async throws -> TemplateRecord {
        guard
            let template = try await TemplateStore.get(
                name: campaign.template, language: campaign.language, wabaId: intake.defaultWabaId, on: postgres,
                logger: logger)
        else {
            throw APIError(
                .unprocessableContent, "template_not_found",
                "template \(campaign.template) in \(campaign.language) is no longer in the synced catalog")
        }
        return template
    }

    /// Moves draft ⇄ tested to match the test outcome for the current fingerprint.
    func refreshed(_ campaign: CampaignRow) async throws -> CampaignRow {
        guard campaign.state == .draft || campaign.state == .tested,
            let template = try? await currentTemplate(campaign)
        else { return campaign }
        let outcome = try await CampaignStore.testOutcome(
            campaignId: campaign.id, fingerprint: try CampaignFingerprint.of(template), on: postgres, logger: logger)
        let event: CampaignState.Event
        switch (campaign.state, outcome) {
        case (.draft, .passed): event = .testPassed
        case (.tested, let o) where o != .passed: event = .testInvalidated
        default: return campaign
        }
        return try await postgres.transaction(logger: logger) { conn in
            guard let change = try await CampaignStore.transition(campaign.id, event, on: conn, logger: logger) else {
                return campaign
            }
            try await audit(change, action: "campaign.\(change.after.state.rawValue)", actor: Self.systemActor, conn)
            return change.after
        }
    }

    func audit(
        _ change: (before: CampaignRow, after: CampaignRow), action: String, actor: String, _ conn: PostgresConnection
    ) async throws {
        try await AuditStore.record(
            actor: actor, action: action, entity: "campaign", entityId: change.after.id.uuidString.lowercased(),
            before: try change.before.json, after: try change.after.json, on: conn, logger: logger)
    }

    /// `POST /campaigns/{id}/test-send` (optional `{"columns": {...}}`, default: the first
    /// recipient's columns): one send per configured test recipient, answered 202 with each
    /// request; `GET /sends/{request_id}` follows them, `GET /campaigns/{id}` shows `tested`
    /// once all were accepted.
    func testSend(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .manageCampaigns)
        let columns = try await Self.testColumns(request)
        let campaign = try await campaign(id)
        guard campaign.state.allowsTestSend else {
            throw APIError(
                .conflict, "invalid_state",
                "a \(campaign.state.rawValue) campaign cannot be test-sent (pause it first, or it is done)")
        }
        let template = try await currentTemplate(campaign)
        let fingerprint = try CampaignFingerprint.of(template)
        let phones = try await TestRecipientStore.all(on: postgres, logger: logger)
        guard !phones.isEmpty else {
            throw APIError(.conflict, "no_test_recipients", "no test recipients are configured")
        }
        var values: [String: String] = [:]
        if let columns { values = columns } else { values = try await firstRecipientColumns(id) }
        let batch = UUID()
        var items: [JSONValue] = []
        var sent: [(phone: String, requestId: String)] = []
        for phone in phones {
            guard let digits = PhoneNumber.digits(phone) else { continue }
            let ask = SendIntake.Ask(
                requestId: UUID().uuidString.lowercased(), keyGiven: false, to: digits, text: nil,
                template: (template.name, template.language), variables: values, test: true, campaignId: nil,
                phoneNumberId: campaign.phoneNumberId)
            var item: [String: JSONValue] = ["to": .string(phone)]
            switch try await intake.submit(ask, requester: access.userId) {
            case .queued(let requestId):
                item["request_id"] = .string(requestId)
                item["state"] = "queued"
                sent.append((phone, requestId))
            case .blocked(let requestId, let refusal):
                item["request_id"] = .string(requestId)
                item["state"] = "blocked"
                item["reason"] = .string(refusal.description)
                sent.append((phone, requestId))
            }
            items.append(.object(item))
        }
        try await postgres.transaction(logger: logger) { conn in
            for s in sent {
                try await CampaignStore.recordTestSend(
                    campaignId: id, batch: batch, requestId: s.requestId, phone: s.phone, fingerprint: fingerprint,
                    on: conn, logger: logger)
            }
            try await AuditStore.record(
                actor: access.actor, action: "campaign.test_send", entity: "campaign",
                entityId: id.uuidString.lowercased(), before: nil,
                after: .object([
                    "batch_id": .string(batch.uuidString.lowercased()), "fingerprint": .string(fingerprint),
                    "requests": .array(sent.map { .string($0.requestId) }),
                ]), on: conn, logger: logger)
        }
        return try json(
            JSONValue.object([
                "items": .array(items), "batch_id": .string(batch.uuidString.lowercased()),
                "fingerprint": .string(fingerprint),
            ]), status: .accepted)
    }

    /// The optional body `{"columns": {"first_name": "Ana"}}`; an empty body is none.
    static func testColumns(_ request: Request) async throws -> [String: String]? {
        let buffer = try await JSONBody.collect(request, upTo: 64 * 1024)
        guard buffer.readableBytes > 0 else { return nil }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: buffer) else {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object")
        }
        var body = JSONBody(object, allowed: ["columns"], prefix: "")
        var values: [String: String]?
        if let raw = body.object("columns") {
            values = [:]
            for (k, v) in raw {
                if let s = v.stringValue {
                    values?[k] = s
                } else {
                    body.problems.add("columns.\(k)", "must be a string")
                }
            }
        }
        try body.problems.check()
        return values
    }

    func firstRecipientColumns(_ id: UUID) async throws -> [String: String] {
        guard let text = try await CampaignStore.firstRecipientColumns(campaignId: id, on: postgres, logger: logger)
        else { return [:] }
        return (try? JSONCoding.decoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// `POST /campaigns/{id}/launch`: start a draft/tested campaign or resume a paused one.
    /// 409 `invalid_state` (running or done), 409 `test_send_required` (no test for the
    /// current template + mapping), 409 `test_send_pending` (not settled yet), 422
    /// `test_send_failed` (which recipients failed and why).
    func launch(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .manageCampaigns)
        let campaign = try await campaign(id)
        guard campaign.state.after(.launch) != nil else {
            throw APIError(.conflict, "invalid_state", "the campaign is \(campaign.state.rawValue)")
        }
        let template = try await currentTemplate(campaign)
        switch try await CampaignStore.testOutcome(
            campaignId: id, fingerprint: try CampaignFingerprint.of(template), on: postgres, logger: logger)
        {
        case .none:
            throw APIError(
                .conflict, "test_send_required",
                "no test send for the current template and mapping: POST /api/v1/campaigns/\(id.uuidString.lowercased())/test-send first"
            )
        case .pending:
            throw APIError(
                .conflict, "test_send_pending", "the test send is not settled yet; retry when every test send is sent")
        case .failed(let failures):
            throw APIError(
                .unprocessableContent, "test_send_failed",
                "the last test send failed: \(failures.joined(separator: "; ")); fix it and test again")
        case .passed:
            break
        }
        let changed = try await postgres.transaction(logger: logger) { conn in
            guard
                let change = try await CampaignStore.transition(
                    id, .launch, by: access.userId, on: conn, logger: logger)
            else { return CampaignRow?.none }
            try await audit(
                change, action: change.before.state == .paused ? "campaign.resume" : "campaign.launch",
                actor: access.actor, conn)
            return change.after
        }
        guard let changed else {
            throw APIError(.conflict, "invalid_state", "the campaign changed state meanwhile; reload it")
        }
        logger.info("campaign launched", metadata: ["campaign_id": "\(id)", "recipients": "\(changed.recipients)"])
        return try json(changed)
    }

    /// `POST /campaigns/{id}/pause`: stops publishing; 409 unless running. It waits for a
    /// chunk being published, so after the answer nothing more is published.
    func pause(_ request: Request, id: UUID) async throws -> Response {
        let access = try await auth.access(request, .manageCampaigns)
        let campaign = try await campaign(id)
        let changed = try await postgres.transaction(logger: logger) { conn in
            guard let change = try await CampaignStore.transition(id, .pause, on: conn, logger: logger) else {
                return CampaignRow?.none
            }
            try await audit(change, action: "campaign.pause", actor: access.actor, conn)
            return change.after
        }
        guard let changed else {
            throw APIError(
                .conflict, "invalid_state", "only a running campaign can be paused (it is \(campaign.state.rawValue))")
        }
        logger.info("campaign paused", metadata: ["campaign_id": "\(id)"])
        return try json(changed)
    }
}
