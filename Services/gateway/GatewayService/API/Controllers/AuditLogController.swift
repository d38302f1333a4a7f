import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET /api/v1/audit-log?actor=&entity=&since=` (admins and managers), newest first.
struct AuditLogController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("audit-log") { request, _ in try await self.list(request) }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.access(request, .readAuditLog)
        var problems = Problems()
        let list = ListPage(request, problems: &problems)
        let page = list.int64(&problems)
        let q = QueryParameters(request)
        let since = q.date("since", &problems)
        try problems.check()
        let rows = try await AuditStore.list(
            actor: q.string("actor")?.lowercased(), entity: q.string("entity"), since: since, page: page,
            on: postgres, logger: logger)
        return try json(list.page(rows) { String($0.id) })
    }
}
