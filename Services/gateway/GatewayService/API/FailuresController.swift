import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET /api/v1/failures?stage=&since=&state=` and `POST /api/v1/failures/{id}/replay`.
struct FailuresController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("failures") { request, _ in try await self.list(request) }
        group.post("failures/:id/replay") { request, context in
            _ = try await self.auth.require(request)
            guard let id = Int64(try context.parameters.require("id")) else {
                throw APIError(.badRequest, "validation_failed", "id: must be a failure id (a number)")
            }
            switch try await Replay.failure(
                id: id, postgres: self.postgres, producer: self.producer, topics: self.topics, logger: self.logger)
            {
            case .replayed(let row): return try json(row, status: .accepted)
            case .notFound: throw APIError(.notFound, "not_found", "no failure \(id)")
            }
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.require(request)
        let q = request.uri.queryParameters
        var problems: [String] = []
        let page = ListPage(request, problems: &problems, cursor: { Int64($0) })
        var since: Date?
        if let raw = q["since"].map(String.init) {
            since = RFC3339.date(from: raw)
            if since == nil { problems.append("since: must be an RFC 3339 timestamp") }
        }
        let state = q["state"].map(String.init)
        if let state, !["open", "replayed", "resolved"].contains(state) {
            problems.append("state: one of open, replayed, resolved")
        }
        guard problems.isEmpty else {
            throw APIError(.badRequest, "validation_failed", problems.joined(separator: "; "))
        }
        let rows = try await FailureStore.list(
            stage: q["stage"].map(String.init), since: since, state: state, before: page.cursor, limit: page.limit,
            on: postgres, logger: logger)
        return try json(Page(items: rows, nextCursor: rows.count == page.limit ? rows.last.map { String($0.id) } : nil))
    }
}

/// `limit` (default 50, max 500) and an opaque `cursor`, as every list takes them.
struct ListPage<Cursor> {
    var limit = 50
    var cursor: Cursor?

    init(_ request: Request, problems: inout [String], cursor parse: (String) -> Cursor?) {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            if let n = Int(raw), (1...500).contains(n) { limit = n } else { problems.append("limit: 1 to 500") }
        }
        if let raw = query["cursor"] {
            if let c = parse(String(raw)) {
                cursor = c
            } else {
                problems.append("cursor: not a cursor from a previous page")
            }
        }
    }
}
