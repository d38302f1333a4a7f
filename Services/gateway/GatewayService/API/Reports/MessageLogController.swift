import CRMCore
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage
import WireModels

/// `GET /api/v1/messages?contact_id=&phone=&direction=&status=&template=&campaign_id=&since=&until=`:
/// the message log, newest first, each message with its status history. Agents see only the
/// messages of contacts they own. JSON pages by cursor; CSV (`ResponseFormat`) exports every
/// match (up to `MESSAGE_EXPORT_MAX_ROWS`, else a 400 before anything is sent), streamed in
/// pages so memory stays bounded.
struct MessageLogController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    /// `MESSAGE_EXPORT_MAX_ROWS` (100,000): the most messages one CSV export reads.
    var maxExportRows = 100_000
    let logger: Logger

    static let csvPageSize = 500

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("messages") { request, _ in try await self.search(request) }
    }

    func search(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        let access = try await auth.access(request, .readCRM)
        var problems = Problems()
        let format = ResponseFormat(request, &problems)
        let list = ListPage(request, problems: &problems)
        let cursor = list.decodedKey({ MessageLogCursor($0) }, &problems)
        let filter = Self.filter(QueryParameters(request), &problems)
        try problems.check()
        let owner = access.ownerScope
        switch format {
        case .json:
            let page = try await MessageStore.search(
                filter, owner: owner, after: cursor, limit: list.limit, on: postgres, logger: logger)
            ReportMetrics.served("messages", format: format, rows: page.items.count, since: start)
            return try json(Page(items: page.items, nextCursor: page.next.map { ListPage.encode($0.text) }))
        case .csv:
            // One export reads at most `maxExportRows`: a bigger one is refused before the first
            // byte (a streamed answer cannot turn into an error half-way).
            let size = try await MessageStore.count(
                filter, owner: owner, after: cursor, upTo: maxExportRows + 1, on: postgres, logger: logger)
            guard size <= maxExportRows else {
                throw APIError(
                    .badRequest, "export_too_large",
                    "more than \(maxExportRows) messages match: narrow the export (since/until, or a filter)",
                    fields: [FieldProblem("since", "narrow the range: at most \(maxExportRows) messages per export")])
            }
            let (postgres, logger, first) = (self.postgres, self.logger, cursor)
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: CSV.header(MessageRow.self)))
                var position = first
                var rows = 0
                repeat {
                    let page = try await MessageStore.search(
                        filter, owner: owner, after: position, limit: Self.csvPageSize, on: postgres, logger: logger)
                    try await writer.write(ByteBuffer(string: CSV.lines(page.items)))
                    rows += page.items.count
                    position = page.next
                } while position != nil
                try await writer.finish(nil)
                ReportMetrics.served("messages", format: .csv, rows: rows, since: start)
            }
            return Response(status: .ok, headers: CSV.headers(filename: "messages"), body: body)
        }
    }

    /// Every filter of the query string; each bad one is a problem of its parameter.
    static func filter(_ q: QueryParameters, _ problems: inout Problems) -> MessageFilter {
        var f = MessageFilter()
        f.contactId = q.uuid("contact_id", &problems)
        if let raw = q.string("phone") {
            f.matchKey = ContactMatchKey.forQuery(raw)
            if f.matchKey == nil { problems.add("phone", "'\(raw)' is not a valid international phone number") }
        }
        f.direction = q.oneOf("direction", ["inbound", "outbound"], &problems)
        f.status = q.oneOf("status", DeliveryStatus.allCases.map(\.rawValue), &problems)
        f.template = q.string("template")
        f.campaignId = q.uuid("campaign_id", &problems)
        f.since = q.date("since", &problems)
        f.until = q.date("until", &problems)
        if let since = f.since, let until = f.until, since >= until { problems.add("since", "must be before until") }
        return f
    }
}
