import CRMCore
import Foundation
import Hummingbird
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Templates: `GET /templates`, `POST /templates/sync`, `PUT /templates/{name}/{language}/mapping`
/// (validated when saved, answered with a rendered preview) and
/// `POST /templates/{name}/{language}/test-send` (to every configured test recipient).
struct TemplatesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let intake: SendIntake
    let sync: TemplateSync?
    let logger: Logger

    /// The env-configured account (WHATSAPP_WABA_ID + WHATSAPP_ACCESS_TOKEN), if any.
    static func sync(_ config: ServiceConfig) -> TemplateSync? {
        let wa = config.whatsapp
        guard let waba = wa.wabaId, let token = wa.accessToken else { return nil }
        return TemplateSync(baseURL: wa.graphURL, version: wa.graphVersion, wabaId: waba, accessToken: token)
    }

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("templates") { request, _ in try await self.list(request) }
        group.post("templates/sync") { request, _ in try await self.runSync(request) }
        group.put("templates/:name/:language/mapping") { request, context in
            try await self.saveMapping(
                request, name: try context.parameters.require("name"),
                language: try context.parameters.require("language"))
        }
        group.post("templates/:name/:language/test-send") { request, context in
            try await self.testSend(
                request, name: try context.parameters.require("name"),
                language: try context.parameters.require("language"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.require(request)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        // The key is `name/language/waba` of the previous page's last template.
        _ = list.decodedKey(
            { $0.split(separator: "/", omittingEmptySubsequences: false).count == 3 ? $0 : nil }, &problems)
        try problems.check()
        let status = request.uri.queryParameters["status"].map { String($0).uppercased() }
        let items = try await TemplateStore.list(
            status: status, after: list.key, limit: list.limit + 1, on: postgres, logger: logger)
        let page = Array(items.prefix(list.limit))
        let next =
            items.count > list.limit
            ? page.last.map { ListPage.encode("\($0.name)/\($0.language)/\($0.wabaId)") } : nil
        return try json(Page(items: page, nextCursor: next))
    }

    func requireManager(_ request: Request) async throws -> Principal {
        let principal = try await auth.require(request)
        guard principal.role == "admin" || principal.role == "manager" else {
            throw APIError(.forbidden, "forbidden", "templates are managed by admins and managers")
        }
        return principal
    }

    func runSync(_ request: Request) async throws -> Response {
        let principal = try await requireManager(request)
        guard let sync else {
            throw APIError(
                .conflict, "not_configured",
                "no WhatsApp account to sync: set WHATSAPP_WABA_ID and WHATSAPP_ACCESS_TOKEN")
        }
        let summary: TemplateSync.Summary
        do {
            summary = try await sync.run(on: postgres, logger: logger)
        } catch let error as TemplateSync.Failed {
            throw APIError(.badGateway, "graph_error", error.description)
        } catch {
            throw APIError(.badGateway, "graph_unreachable", "the Graph API could not be reached")
        }
        try await postgres.transaction(logger: logger) { conn in
            try await AuditStore.record(
                actor: principal.userId.uuidString, action: "templates.sync", entity: "template", entityId: nil,
                before: nil,
                after: .object(["waba_id": .string(summary.wabaId), "templates": .number(Double(summary.templates))]),
                on: conn, logger: logger)
        }
        return try json(summary)
    }

    struct MappingBody: Decodable {
        var variables: [String: TemplateMapping.Source]
    }

    func saveMapping(_ request: Request, name: String, language: String) async throws -> Response {
        let principal = try await requireManager(request)
        guard
            let template = try await TemplateStore.get(
                name: name, language: language, wabaId: intake.defaultWabaId, on: postgres, logger: logger)
        else {
            throw APIError(.notFound, "not_found", "no template \(name) in \(language) (sync the catalog first?)")
        }
        let buffer = try await JSONBody.collect(request, upTo: 256 * 1024)
        let body: MappingBody
        do {
            body = try JSONDecoder().decode(MappingBody.self, from: buffer)
        } catch {
            throw APIError(
                .badRequest, "invalid_json",
                #"body must be {"variables": {"body.1": {"source": "contact", "field": "name"}, ...}}: \#(error)"#)
        }
        var variables: [String: TemplateMapping.Source] = [:]
        for (key, source) in body.variables { variables[TemplateMapping.canonical(key)] = source }
        let mapping = TemplateMapping(variables: variables)
        let problems = mapping.problems(for: template)
        guard problems.isEmpty else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        let encoder = JSONCoding.encoder()
        try await postgres.transaction(logger: logger) { conn in
            let before = try await TemplateStore.saveMapping(
                mapping, template: template, actor: principal.userId.uuidString, on: conn, logger: logger)
            try await AuditStore.record(
                actor: principal.userId.uuidString, action: "template.mapping.update", entity: "template",
                entityId: "\(name)/\(language)",
                before: try before.map { try JSONDecoder().decode(JSONValue.self, from: try encoder.encode($0)) },
                after: try JSONDecoder().decode(JSONValue.self, from: try encoder.encode(mapping)), on: conn,
                logger: logger)
        }
        var saved = template
        saved.mapping = mapping
        return try json(
            MappingResponse(
                template: saved,
                preview: TemplateComponents.render(template, values: mapping.previewValues(for: template))))
    }

    struct MappingResponse: Encodable {
        var template: TemplateRecord
        var preview: RenderedTemplate

        func encode(to encoder: any Encoder) throws {
            try template.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(preview, forKey: .preview)
        }

        enum Keys: String, CodingKey { case preview }
    }

    struct TestSendBody: Decodable {
        var variables: SendBody.Variables?
    }

    /// One test send per configured test recipient; each is gated like any send (`test: true`).
    func testSend(_ request: Request, name: String, language: String) async throws -> Response {
        let principal = try await requireManager(request)
        let buffer = try await JSONBody.collect(request, upTo: 64 * 1024)
        var body = TestSendBody(variables: nil)
        if buffer.readableBytes > 0 {
            do {
                body = try JSONDecoder().decode(TestSendBody.self, from: buffer)
            } catch {
                throw APIError(
                    .badRequest, "invalid_json", #"body must be empty or {"variables": {"1": "Ana", ...}}: \#(error)"#)
            }
        }
        let phones = try await TestRecipientStore.all(on: postgres, logger: logger)
        guard !phones.isEmpty else {
            throw APIError(.conflict, "no_test_recipients", "no test recipients are configured")
        }
        var results: [JSONValue] = []
        for phone in phones {
            guard let digits = PhoneNumber.digits(phone) else { continue }
            let ask = SendIntake.Ask(
                requestId: UUID().uuidString.lowercased(), keyGiven: false, to: digits, text: nil,
                template: (name, language), variables: body.variables?.values ?? [:], test: true, campaignId: nil,
                phoneNumberId: nil)
            switch try await intake.submit(ask, principal: principal) {
            case .queued(let id):
                results.append(.object(["to": .string(phone), "request_id": .string(id), "state": .string("queued")]))
            case .blocked(let id, let refusal):
                results.append(
                    .object([
                        "to": .string(phone), "request_id": .string(id), "state": .string("blocked"),
                        "reason": .string(refusal.description),
                    ]))
            }
        }
        return try json(JSONValue.object(["items": .array(results)]), status: .accepted)
    }
}
