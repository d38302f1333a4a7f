import Foundation
import PostgresNIO
import WireModels

/// A task as the API shows it (`GET/POST /tasks`, `PATCH /tasks/{id}`).
public struct TaskRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var contactId: UUID
    public var leadId: UUID?
    public var ownerId: UUID?
    public var title: String
    /// `task` (typed by a user), `follow_up` (created by a rule), `escalation` (for a manager).
    public var kind: String
    public var dueAt: Date?
    public var status: String
    /// Natural key of a rule-created task (nil for tasks created through the API).
    public var sourceEventId: String?
    public var createdBy: String
    /// When the due reminder fired (once).
    public var remindedAt: Date?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var completedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id
        case contactId = "contact_id"
        case leadId = "lead_id"
        case ownerId = "owner_id"
        case title, kind
        case dueAt = "due_at"
        case status
        case sourceEventId = "source_event_id"
        case createdBy = "created_by"
        case remindedAt = "reminded_at"
        case version
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case completedAt = "completed_at"
    }

    public var json: JSONValue { get throws { try JSONValue(encoding: self) } }
}

/// What a new task is made of.
public struct NewTask: Sendable {
    public var contactId: UUID
    public var leadId: UUID?
    public var ownerId: UUID?
    public var title: String
    public var kind: String
    public var dueAt: Date?
    public var sourceEventId: String?
    public var createdBy: String

    public init(
        contactId: UUID, leadId: UUID? = nil, ownerId: UUID?, title: String, kind: String = "task", dueAt: Date?,
        sourceEventId: String? = nil, createdBy: String
    ) {
        self.contactId = contactId
        self.leadId = leadId
        self.ownerId = ownerId
        self.title = title
        self.kind = kind
        self.dueAt = dueAt
        self.sourceEventId = sourceEventId
        self.createdBy = createdBy
    }
}

public struct TaskFilter: Sendable {
    public var contactId: UUID?
    public var ownerId: UUID?
    public var status: String?
    public var dueBefore: Date?

    public init(contactId: UUID? = nil, ownerId: UUID? = nil, status: String? = nil, dueBefore: Date? = nil) {
        self.contactId = contactId
        self.ownerId = ownerId
        self.status = status
        self.dueBefore = dueBefore
    }
}

/// Tasks, always read within the caller's `OwnerScope`. Every write keeps the task's due
/// reminder in `scheduled_jobs` in step (`syncReminder`), in the same transaction.
public enum TaskStore {
    public static let statuses = ["open", "done", "cancelled"]

    static let columns = """
        id, contact_id, lead_id, owner_id, title, kind, due_at, status, source_event_id, created_by, reminded_at,
        version, created_at, updated_at, completed_at
        """

    /// Inserts the task and schedules its reminder; nil when a task with that `sourceEventId`
    /// exists already (a rule's event seen again).
    public static func create(_ t: NewTask, on conn: PostgresConnection, logger: Logger) async throws -> TaskRow? {
        let rows = try await conn.query(
            """
            INSERT INTO tasks (contact_id, lead_id, owner_id, title, kind, due_at, source_event_id, created_by)
            VALUES (\(t.contactId), \(t.leadId), \(t.ownerId), \(t.title), \(t.kind), \(t.dueAt), \(t.sourceEventId),
                    \(t.createdBy))
            ON CONFLICT (source_event_id) DO NOTHING
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let task = try await decode(rows).first else { return nil }
        try await syncReminder(task, on: conn, logger: logger)
        return task
    }

    public static func get(id: UUID, scope: OwnerScope, lock: Bool, on conn: PostgresConnection, logger: Logger)
        async throws -> TaskRow?
    {
        let rows = try await conn.query(
            """
            SELECT \(unescaped: columns) FROM tasks
            WHERE id = \(id) AND (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// Newest first; the cursor of the last item when the page is full.
    public static func list(
        _ filter: TaskFilter, scope: OwnerScope, after cursor: KeysetCursor?, limit: Int, on client: PostgresClient,
        logger: Logger
    ) async throws -> (items: [TaskRow], next: KeysetCursor?) {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns) FROM tasks
            WHERE (\(scope.ownerId)::uuid IS NULL OR owner_id = \(scope.ownerId))
              AND (\(filter.contactId)::uuid IS NULL OR contact_id = \(filter.contactId))
              AND (\(filter.ownerId)::uuid IS NULL OR owner_id = \(filter.ownerId))
              AND (\(filter.status)::text IS NULL OR status = \(filter.status))
              AND (\(filter.dueBefore)::timestamptz IS NULL OR due_at < \(filter.dueBefore))
              AND (\(cursor?.micros)::bigint IS NULL
                   OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < (\(cursor?.micros), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit)
            """, logger: logger)
        let items = try await decode(rows)
        let last = items.last.map {
            KeysetCursor(micros: Int64(($0.createdAt.timeIntervalSince1970 * 1e6).rounded()), id: $0.id)
        }
        return (items, items.count == limit ? last : nil)
    }

    /// Writes the editable fields, bumps the version, sets or clears `completed_at` with the
    /// status, and moves the reminder with the due time.
    public static func update(
        id: UUID, title: String, dueAt: Date?, status: String, ownerId: UUID?, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> TaskRow {
        let rows = try await conn.query(
            """
            UPDATE tasks SET title = \(title), due_at = \(dueAt), status = \(status), owner_id = \(ownerId),
                completed_at = CASE WHEN \(status) = 'open' THEN NULL ELSE COALESCE(completed_at, now()) END,
                reminded_at = CASE WHEN due_at IS DISTINCT FROM \(dueAt) THEN NULL ELSE reminded_at END,
                version = version + 1, updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let task = try await decode(rows).first else { throw StorageError.invalid("task \(id) vanished") }
        try await syncReminder(task, on: conn, logger: logger)
        return task
    }

    /// The scheduler fired the due reminder: `reminded_at` and a new version, only while the
    /// task is open, not reminded yet and still due when the job `key` says (nil otherwise: it
    /// was done, cancelled or moved meanwhile).
    public static func markReminded(id: UUID, key: String, on conn: PostgresConnection, logger: Logger) async throws
        -> TaskRow?
    {
        guard let task = try await get(id: id, scope: .all, lock: true, on: conn, logger: logger),
            task.status == "open", task.remindedAt == nil, reminderKey(task) == key
        else { return nil }
        let rows = try await conn.query(
            """
            UPDATE tasks SET reminded_at = now(), version = version + 1, updated_at = now() WHERE id = \(id)
            RETURNING \(unescaped: columns)
            """, logger: logger)
        return try await decode(rows).first
    }

    /// The job key of a task's due reminder: the task and its due time, so a moved due time is
    /// a new job. Nil when no reminder is due (closed, no due time, already reminded).
    public static func reminderKey(_ task: TaskRow) -> String? {
        guard task.status == "open", let due = task.dueAt, task.remindedAt == nil else { return nil }
        return "task_due:\(task.id.uuidString.lowercased()):\(Int64((due.timeIntervalSince1970 * 1000).rounded()))"
    }

    /// One pending `task_due` job per open task with a due time; every other pending reminder
    /// of the task is cancelled.
    static func syncReminder(_ task: TaskRow, on conn: PostgresConnection, logger: Logger) async throws {
        let key = reminderKey(task)
        if let key, let due = task.dueAt {
            try await ScheduleStore.schedule(
                kind: "task_due", key: key, dueAt: due,
                payload: [
                    "task_id": .string(task.id.uuidString.lowercased()), "due_at": .string(RFC3339.string(from: due)),
                ], on: conn, logger: logger)
        }
        try await ScheduleStore.cancel(
            kind: "task_due", subject: ("task_id", task.id.uuidString.lowercased()), except: key, on: conn,
            logger: logger)
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TaskRow] {
        var out: [TaskRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            out.append(
                TaskRow(
                    id: try r[0].decode(UUID.self), contactId: try r[1].decode(UUID.self),
                    leadId: try r[2].decode(UUID?.self), ownerId: try r[3].decode(UUID?.self),
                    title: try r[4].decode(String.self), kind: try r[5].decode(String.self),
                    dueAt: try r[6].decode(Date?.self), status: try r[7].decode(String.self),
                    sourceEventId: try r[8].decode(String?.self), createdBy: try r[9].decode(String.self),
                    remindedAt: try r[10].decode(Date?.self), version: try r[11].decode(Int.self),
                    createdAt: try r[12].decode(Date.self), updatedAt: try r[13].decode(Date.self),
                    completedAt: try r[14].decode(Date?.self)))
        }
        return out
    }
}
