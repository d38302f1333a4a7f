import Foundation
import PostgresNIO

/// What the past-due report lists (API: `group_by`): one row per owner (the default) or one row
/// per overdue task (the detail a manager chases).
public enum TaskPastDueGrouping: String, Sendable, CaseIterable {
    case owner
    case task
}

/// One owner's open tasks whose due time is before `as_of`: how many, and the oldest one.
public struct TaskPastDueOwnerRow: Sendable, Equatable, Encodable {
    /// The task's owner (`key` as in the other reports); nil for tasks without an owner.
    public var key: UUID?
    public var tasks: Int
    public var oldestDueAt: Date
    /// `as_of − oldest_due_at`.
    public var oldestOverdueSeconds: Double

    enum CodingKeys: String, CodingKey {
        case key, tasks
        case oldestDueAt = "oldest_due_at"
        case oldestOverdueSeconds = "oldest_overdue_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key?.uuidString.lowercased(), forKey: .key)  // explicit null: unowned tasks
        try c.encode(tasks, forKey: .tasks)
        try c.encode(oldestDueAt, forKey: .oldestDueAt)
        try c.encode(oldestOverdueSeconds, forKey: .oldestOverdueSeconds)
    }
}

/// One open task whose due time is before `as_of`.
public struct TaskPastDueRow: Sendable, Equatable, Encodable {
    public var id: UUID
    public var title: String
    /// `task`, `follow_up` or `escalation` (`TaskRow.kind`).
    public var kind: String
    public var ownerId: UUID?
    public var contactId: UUID
    public var dueAt: Date
    /// `as_of − due_at`.
    public var overdueSeconds: Double

    enum CodingKeys: String, CodingKey {
        case id, title, kind
        case ownerId = "owner_id"
        case contactId = "contact_id"
        case dueAt = "due_at"
        case overdueSeconds = "overdue_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.uuidString.lowercased(), forKey: .id)
        try c.encode(title, forKey: .title)
        try c.encode(kind, forKey: .kind)
        try c.encode(ownerId?.uuidString.lowercased(), forKey: .ownerId)  // explicit null: unowned
        try c.encode(contactId.uuidString.lowercased(), forKey: .contactId)
        try c.encode(dueAt, forKey: .dueAt)
        try c.encode(overdueSeconds, forKey: .overdueSeconds)
    }
}

/// Open tasks past due at a moment (`as_of`), read from `tasks` at query time. Only the
/// status now counts: `as_of` moves the cut-off, so a task done since an earlier `as_of` is
/// not in that answer. Tasks without a due time are never past due. Both queries are a range
/// of the partial index `tasks_open_due (due_at) WHERE status = 'open'` (ARCHITECTURE.md,
/// "Reports").
public enum TaskPastDueReportStore {
    /// Per owner, most overdue tasks first (then by owner id, unowned last).
    public static func byOwner(asOf: Date, on client: PostgresClient, logger: Logger) async throws
        -> [TaskPastDueOwnerRow]
    {
        let rows = try await client.query(
            """
            SELECT owner_id, count(*)::int, min(due_at), extract(epoch FROM \(asOf) - min(due_at))::float8
            FROM tasks
            WHERE status = 'open' AND due_at < \(asOf)
            GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST
            """, logger: logger)
        var out: [TaskPastDueOwnerRow] = []
        for try await (owner, count, oldest, seconds) in rows.decode((UUID?, Int, Date, Double).self) {
            out.append(
                TaskPastDueOwnerRow(key: owner, tasks: count, oldestDueAt: oldest, oldestOverdueSeconds: seconds))
        }
        return out
    }

    /// Every open task past due, the longest overdue first (ties by id).
    public static func tasks(asOf: Date, on client: PostgresClient, logger: Logger) async throws -> [TaskPastDueRow] {
        let rows = try await client.query(
            """
            SELECT id, title, kind, owner_id, contact_id, due_at, extract(epoch FROM \(asOf) - due_at)::float8
            FROM tasks
            WHERE status = 'open' AND due_at < \(asOf)
            ORDER BY due_at, id
            """, logger: logger)
        var out: [TaskPastDueRow] = []
        for try await (id, title, kind, owner, contact, due, seconds) in rows.decode(
            (UUID, String, String, UUID?, UUID, Date, Double).self)
        {
            out.append(
                TaskPastDueRow(
                    id: id, title: title, kind: kind, ownerId: owner, contactId: contact, dueAt: due,
                    overdueSeconds: seconds))
        }
        return out
    }
}
