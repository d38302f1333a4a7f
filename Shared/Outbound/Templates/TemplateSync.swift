import AsyncHTTPClient
import CRMCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage
import WireModels

/// Reads every page of `GET /{version}/{waba-id}/message_templates` and stores the catalog.
/// Used by `POST /api/v1/templates/sync`, `crmctl templates sync`, the sender's schedule and
/// its `wa.template.event` consumer.
public struct TemplateSync: Sendable {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var wabaId: String
        public var templates: Int
        public var pages: Int
        enum CodingKeys: String, CodingKey {
            case wabaId = "waba_id"
            case templates, pages
        }
    }

    static let fields = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"

    let http: HTTPClient
    let baseURL: String
    let version: String
    let wabaId: String
    let accessToken: Secret

    public init(http: HTTPClient = .shared, baseURL: String, version: String, wabaId: String, accessToken: String) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.version = version
        self.wabaId = wabaId
        self.accessToken = Secret(accessToken)
    }

    /// Every template of the account, following `paging.next` until there is none.
    public func fetchAll(pageSize: Int = 100) async throws -> (templates: [TemplateRecord], pages: Int) {
        let first =
            "\(baseURL)/\(GraphID.pathSegment(version))/\(GraphID.pathSegment(wabaId))/message_templates"
        var url: String? = "\(first)?fields=\(Self.fields)&limit=\(pageSize)"
        var templates: [TemplateRecord] = []
        var pages = 0
        while let next = url, pages < 1000 {
            var request = HTTPClientRequest(url: next)
            request.headers.add(name: "Authorization", value: "Bearer \(accessToken.value)")
            let response = try await http.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 16 << 20)
            let json = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
            guard response.status.code == 200, let json else {
                // The message only: never the URL with its query or the token.
                let message = json?["error"]?["message"]?.stringValue ?? "HTTP \(response.status.code)"
                throw Failed(description: "template listing for WABA \(wabaId) failed: \(message)")
            }
            pages += 1
            templates += json["data"]?.arrayValue.compactMap { TemplateRecord(meta: $0, wabaId: wabaId) } ?? []
            // The token goes only where the listing started: a `next` elsewhere ends the paging.
            url = json["paging"]?["next"]?.stringValue.flatMap { $0.hasPrefix(first + "?") ? $0 : nil }
        }
        return (templates, pages)
    }

    /// Fetches everything, then stores it in one transaction.
    @discardableResult
    public func run(on postgres: PostgresClient, logger: Logger) async throws -> Summary {
        let (templates, pages) = try await fetchAll()
        try await postgres.transaction(logger: logger) { conn in
            try await TemplateStore.upsert(templates, on: conn, logger: logger)
        }
        logger.info("templates synced", metadata: ["waba_id": "\(wabaId)", "templates": "\(templates.count)"])
        return Summary(wabaId: wabaId, templates: templates.count, pages: pages)
    }
}
