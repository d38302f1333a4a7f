import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET /api/v1/reports/delivery`, `/reports/errors`, `/reports/response-times` and
/// `/reports/tasks-past-due` (admins and managers). Every report of a range takes
/// `since`/`until` (RFC 3339, `[since, until)`; default the last 30 days); the past-due report
/// looks at one moment, `as_of` (default now). Each answers JSON or CSV (`ResponseFormat`).
struct ReportsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    static let defaultSpan: TimeInterval = 30 * 24 * 3600
    /// A longer range scans more history than one request should (each report is one query).
    static let maxSpan: TimeInterval = 366 * 24 * 3600

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("reports/delivery") { request, _ in try await self.delivery(request) }
        group.get("reports/errors") { request, _ in try await self.errors(request) }
        group.get("reports/response-times") { request, _ in try await self.responseTimes(request) }
        group.get("reports/tasks-past-due") { request, _ in try await self.tasksPastDue(request) }
    }

    func delivery(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        let (format, range, groupBy) = try await parameters(
            request, groupings: DeliveryGrouping.allCases.map(\.rawValue), defaultGrouping: "template")
        let grouping = DeliveryGrouping(rawValue: groupBy ?? "") ?? .template
        let rows = try await DeliveryReportStore.funnel(range, by: grouping, on: postgres, logger: logger)
        return try served(
            ReportAnswer(report: "delivery", groupBy: grouping.rawValue, range: range, items: rows), format, start)
    }

    func errors(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        let (format, range, _) = try await parameters(request, groupings: nil, defaultGrouping: nil)
        let rows = try await DeliveryReportStore.errors(range, on: postgres, logger: logger)
        return try served(ReportAnswer(report: "errors", groupBy: nil, range: range, items: rows), format, start)
    }

    func responseTimes(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        let (format, range, groupBy) = try await parameters(request, groupings: ["owner"], defaultGrouping: "owner")
        let rows = try await ResponseTimeReportStore.byOwner(range, on: postgres, logger: logger)
        return try served(
            ReportAnswer(report: "response-times", groupBy: groupBy, range: range, items: rows), format, start)
    }

    /// Open tasks whose due time is before `as_of`: per owner (`group_by=owner`, the default) or
    /// one line per task (`group_by=task`).
    func tasksPastDue(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        _ = try await auth.access(request, .readReports)
        var problems = Problems()
        let format = ResponseFormat(request, &problems)
        let q = QueryParameters(request)
        let asOf = q.date("as_of", &problems) ?? Date()
        let raw = q.oneOf("group_by", TaskPastDueGrouping.allCases.map(\.rawValue), &problems)
        for name in ["since", "until"] where q.string(name) != nil {
            problems.add(name, "this report looks at one moment: use as_of")
        }
        try problems.check()
        let report = "tasks-past-due"
        switch TaskPastDueGrouping(rawValue: raw ?? "") ?? .owner {
        case .owner:
            let rows = try await TaskPastDueReportStore.byOwner(asOf: asOf, on: postgres, logger: logger)
            return try served(
                ReportAnswer(report: report, groupBy: "owner", period: .asOf(asOf), items: rows), format, start)
        case .task:
            let rows = try await TaskPastDueReportStore.tasks(asOf: asOf, on: postgres, logger: logger)
            return try served(
                ReportAnswer(report: report, groupBy: "task", period: .asOf(asOf), items: rows), format, start)
        }
    }

    /// Role (403 for agents), then every bad parameter in one 400.
    func parameters(_ request: Request, groupings: [String]?, defaultGrouping: String?) async throws
        -> (ResponseFormat, ReportRange, String?)
    {
        _ = try await auth.access(request, .readReports)
        var problems = Problems()
        let format = ResponseFormat(request, &problems)
        let q = QueryParameters(request)
        let until = q.date("until", &problems) ?? Date()
        let since = q.date("since", &problems) ?? until.addingTimeInterval(-Self.defaultSpan)
        if since >= until { problems.add("since", "must be before until") }
        if until.timeIntervalSince(since) > Self.maxSpan {
            problems.add("since", "a report covers at most \(Int(Self.maxSpan / 86_400)) days")
        }
        var groupBy = defaultGrouping
        if let groupings {
            groupBy = q.oneOf("group_by", groupings, &problems) ?? defaultGrouping
        } else if q.string("group_by") != nil {
            problems.add("group_by", "this report has no grouping")
        }
        try problems.check()
        return (format, ReportRange(since: since, until: until), groupBy)
    }

    func served<Row: Encodable & CSVRow & Sendable>(
        _ answer: ReportAnswer<Row>, _ format: ResponseFormat, _ start: ContinuousClock.Instant
    ) throws
        -> Response
    {
        let response = try answer.response(format)
        ReportMetrics.served(answer.report, format: format, rows: answer.items.count, since: start)
        logger.info(
            "report served",
            metadata: [
                "report": "\(answer.report)", "group_by": "\(answer.groupBy ?? "-")", "rows": "\(answer.items.count)",
                "format": "\(format.rawValue)",
            ])
        return response
    }
}
