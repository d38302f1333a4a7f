import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `GET /api/v1/failures?stage=&since=&state=` and `POST /api/v1/failures/{id}/replay` (admins:
/// dead-lettered records may hold any customer's data, and a replay re-runs a pipeline stage).
struct FailuresController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let producer: KafkaProducer
    let topics: Topics
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("failures") { request, _ in try await self.list(request) }
        group.post("failures/:id/replay") { request, context in
            let access = try await self.auth.access(request, .operateFailures)
            let raw = try context.parameters.require("id")
            guard let id = Int64(raw) else { throw APIError.notFound("no failure \(raw)") }
            switch try await Replay.failure(
                id: id, postgres: self.postgres, producer: self.producer, topics: self.topics, logger: self.logger,
                actor: access.actor)
            {
            case .replayed(let row): return try json(row, status: .accepted)
            case .notFound: throw APIError.notFound("no failure \(id)")
            case .notReplayable(let why): throw APIError.conflict(why)
            }
        }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .operateFailures)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.int64(&problems)
        let q = QueryParameters(request)
        let since = q.date("since", &problems)
        let state = q.oneOf("state", ["open", "replayed", "resolved"], &problems)
        try problems.check()
        let rows = try await FailureStore.list(
            stage: q.string("stage"), since: since, state: state, before: page.after, limit: page.limit,
            on: postgres, logger: logger)
        return try json(list.page(rows) { String($0.id) })
    }
}
