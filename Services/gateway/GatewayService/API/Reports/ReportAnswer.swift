import Foundation
import Hummingbird
import Metrics
import ServiceKit
import Storage
import WireModels

/// What every report answers: `{report, group_by, since, until, items}` as JSON, or its items as
/// CSV (a header line, then one line per item). A new report is a store query returning rows
/// that are `Encodable & CSVRow`, plus a route that builds one of these. A report of a moment
/// rather than a range (`tasks-past-due`) has `as_of` in place of `since`/`until`.
struct ReportAnswer<Row: Encodable & CSVRow & Sendable>: Encodable {
    /// The range a report covers, or the moment it looks at.
    enum Period: Sendable {
        case range(ReportRange)
        case asOf(Date)
    }

    var report: String
    var groupBy: String?
    var period: Period
    var items: [Row]

    enum CodingKeys: String, CodingKey {
        case report
        case groupBy = "group_by"
        case since, until
        case asOf = "as_of"
        case items
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(report, forKey: .report)
        try c.encode(groupBy, forKey: .groupBy)
        switch period {
        case .range(let range):
            try c.encode(range.since, forKey: .since)
            try c.encode(range.until, forKey: .until)
        case .asOf(let date):
            try c.encode(date, forKey: .asOf)
        }
        try c.encode(items, forKey: .items)
    }

    func response(_ format: ResponseFormat) throws -> Response {
        switch format {
        case .json: return try json(self)
        case .csv:
            // Reports are bounded (one line per group, or per overdue task), so the text is built at once.
            let text = CSV.header(Row.self) + CSV.lines(items)
            let name = [report, groupBy].compactMap { $0 }.joined(separator: "-")
            return Response(
                status: .ok, headers: CSV.headers(filename: name), body: .init(byteBuffer: .init(string: text)))
        }
    }
}

extension ReportAnswer {
    init(report: String, groupBy: String?, range: ReportRange, items: [Row]) {
        self.init(report: report, groupBy: groupBy, period: .range(range), items: items)
    }
}

/// Time and size of each report answered (`crm_report_duration_seconds`, `crm_report_rows_total`).
enum ReportMetrics {
    static func served(_ report: String, format: ResponseFormat, rows: Int, since start: ContinuousClock.Instant) {
        let dims = [("report", report), ("format", format.rawValue)]
        Metrics.Timer(label: "crm_report_duration_seconds", dimensions: dims).recordInterval(since: start)
        Counter(label: "crm_report_rows_total", dimensions: dims).increment(by: rows)
    }
}

extension DeliveryReportRow: CSVRow {
    static let csvHeader = [
        "key", "total", "accepted", "sent", "delivered", "read", "failed", "replied", "errors_by_code",
    ]
    var csvFields: [String] {
        [
            CSV.text(key), String(total), String(accepted), String(sent), String(delivered), String(read),
            String(failed), String(replied),
            errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
        ]
    }
}

extension ErrorReportRow: CSVRow {
    static let csvHeader = ["code", "title", "messages"]
    var csvFields: [String] { [CSV.text(code), CSV.text(title), String(messages)] }
}

extension ResponseTimeRow: CSVRow {
    static let csvHeader = ["key", "conversations", "answered", "unanswered", "p50_seconds", "p90_seconds"]
    var csvFields: [String] {
        [
            CSV.text(key), String(conversations), String(answered), String(unanswered), CSV.text(p50Seconds),
            CSV.text(p90Seconds),
        ]
    }
}

extension TaskPastDueOwnerRow: CSVRow {
    static let csvHeader = ["key", "tasks", "oldest_due_at", "oldest_overdue_seconds"]
    var csvFields: [String] {
        [CSV.text(key), String(tasks), CSV.text(oldestDueAt), String(oldestOverdueSeconds)]
    }
}

extension TaskPastDueRow: CSVRow {
    static let csvHeader = ["id", "title", "kind", "owner_id", "contact_id", "due_at", "overdue_seconds"]
    var csvFields: [String] {
        [
            CSV.text(id), title, kind, CSV.text(ownerId), CSV.text(contactId), CSV.text(dueAt),
            String(overdueSeconds),
        ]
    }
}

extension MessageRow: CSVRow {
    static let csvHeader = [
        "wamid", "direction", "contact_id", "phone_number_id", "type", "template", "campaign_id", "status",
        "error_code", "error_title", "created_at", "text", "status_history",
    ]
    /// `status_history` as `status@time` items (`:code` for an error), separated by spaces.
    var csvFields: [String] {
        [
            wamid, direction, CSV.text(contactId), CSV.text(phoneNumberId), type, CSV.text(template),
            CSV.text(campaignId), CSV.text(status), CSV.text(error?.code), CSV.text(error?.title),
            CSV.text(createdAt), CSV.text(text),
            statusHistory.map { "\($0.status)@\(CSV.text($0.at))" + ($0.errorCode.map { ":\($0)" } ?? "") }
                .joined(separator: " "),
        ]
    }
}
