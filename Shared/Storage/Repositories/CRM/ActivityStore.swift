import Foundation
import PostgresNIO
import WireModels

/// The `crm_activity` outbox. A change writes its `CRMActivity` here in the change's own
/// transaction; after the commit the writer publishes it to `crm.activity` and marks it
/// published (`OutboxPublisher`), and a relay publishes whatever a crash left unpublished.
/// The event id (`kind:entity_id:version`) is unique: writing a change twice adds nothing.
public enum ActivityStore {
    /// Records several activities in one statement; returns those not recorded before (with
    /// their outbox ids), in the order given. `traceParents` (parallel, or empty) is the trace
    /// each activity continues when it is published.
    public static func addMany(
        _ activities: [CRMActivity], traceParents: [String?] = [], on conn: PostgresConnection, logger: Logger
    ) async throws -> [OutboxActivity] {
        guard !activities.isEmpty else { return [] }
        // PostgresNIO binds no arrays of optionals: "" stands for NULL (NULLIF below).
        let data = try activities.map { a in
            try a.data.map { try JSONCoding.text($0) } ?? ""
        }
        let traces = activities.indices.map { traceParents.indices.contains($0) ? traceParents[$0] ?? "" : "" }
        let rows = try await conn.query(
            """
            INSERT INTO crm_activity (event_id, kind, entity, entity_id, contact_id, version, at, actor, data, trace_parent)
            SELECT e, k, en, ei, NULLIF(c, '')::uuid, v, a, ac, NULLIF(d, '')::jsonb, NULLIF(tp, '')
            FROM unnest(\(activities.map(\.eventId))::text[], \(activities.map(\.kind))::text[],
                        \(activities.map(\.entity))::text[], \(activities.map(\.entityId))::text[],
                        \(activities.map { $0.contactId ?? "" })::text[], \(activities.map(\.version))::int[],
                        \(activities.map(\.at))::timestamptz[], \(activities.map(\.actor))::text[], \(data)::text[],
                        \(traces)::text[])
                WITH ORDINALITY AS t(e, k, en, ei, c, v, a, ac, d, tp, n)
            ORDER BY n
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id, event_id
            """, logger: logger)
        var ids: [String: Int64] = [:]
        for try await (id, eventId) in rows.decode((Int64, String).self) { ids[eventId] = id }
        var out: [OutboxActivity] = []
        for (i, activity) in activities.enumerated() {
            // An event id twice in one call is written once: the first takes the row.
            guard let id = ids.removeValue(forKey: activity.eventId) else { continue }
            out.append(OutboxActivity(id: id, activity: activity, traceParent: traces[i].isEmpty ? nil : traces[i]))
        }
        return out.sorted { $0.id < $1.id }
    }

    /// Outbox rows a crashed writer left unpublished: older than `olderThan`, oldest first.
    public static func unpublished(
        olderThan: Duration, limit: Int = 500, on client: PostgresClient, logger: Logger
    ) async throws -> [OutboxActivity] {
        let seconds = Double(olderThan.components.seconds)
        let rows = try await client.query(
            """
            SELECT id, kind, entity, entity_id, contact_id, version, at, actor, data::text, trace_parent
            FROM crm_activity WHERE published_at IS NULL AND created_at < now() - make_interval(secs => \(seconds))
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var out: [OutboxActivity] = []
        for try await (id, kind, entity, entityId, contact, version, at, actor, data, trace) in rows.decode(
            (Int64, String, String, String, UUID?, Int, Date, String, String?, String?).self)
        {
            let activity = try Self.activity(kind, entity, entityId, contact, version, at, actor, data)
            out.append(OutboxActivity(id: id, activity: activity, traceParent: trace))
        }
        return out
    }

    public static func markPublished(ids: [Int64], on client: PostgresClient, logger: Logger) async throws {
        guard !ids.isEmpty else { return }
        try await client.query(
            "UPDATE crm_activity SET published_at = now() WHERE id = ANY(\(ids)) AND published_at IS NULL",
            logger: logger)
    }

    /// A contact's activity in order (the timeline reads it beside the messages).
    public static func forContact(_ contactId: UUID, on conn: PostgresConnection, logger: Logger) async throws
        -> [CRMActivity]
    {
        let rows = try await conn.query(
            """
            SELECT id, kind, entity, entity_id, contact_id, version, at, actor, data::text FROM crm_activity
            WHERE contact_id = \(contactId) ORDER BY at, id
            """, logger: logger)
        return try await decode(rows).map(\.activity)
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [(id: Int64, activity: CRMActivity)] {
        var out: [(id: Int64, activity: CRMActivity)] = []
        for try await (id, kind, entity, entityId, contact, version, at, actor, data) in rows.decode(
            (Int64, String, String, String, UUID?, Int, Date, String, String?).self)
        {
            out.append((id, try activity(kind, entity, entityId, contact, version, at, actor, data)))
        }
        return out
    }

    // swift-format-ignore: FunctionParameterCount
    static func activity(
        _ kind: String, _ entity: String, _ entityId: String, _ contact: UUID?, _ version: Int, _ at: Date,
        _ actor: String, _ data: String?
    ) throws -> CRMActivity {
        let value = try data.map { try JSONCoding.decoder().decode(JSONValue.self, from: Data($0.utf8)) }
        return CRMActivity(
            kind: kind, entity: entity, entityId: entityId, contactId: contact?.uuidString, version: version, at: at,
            actor: actor, data: value)
    }
}

/// An activity a transaction wrote, to publish once it committed.
public struct OutboxActivity: Sendable {
    public let id: Int64
    public let activity: CRMActivity
    public let traceParent: String?
}

/// A template send a rule queued (`workflow_sends`), to publish once its transaction committed.
public struct OutboxSend: Sendable {
    public let request: OutboundRequest
    public let traceParent: String?
}

/// What a committed transaction left to publish, held in memory: the publisher sends exactly
/// these rows (no reading back) and marks them published; a relay publishes what a crash
/// between the commit and the mark left behind.
public struct OutboxCommit: Sendable {
    public var activities: [OutboxActivity] = []
    public var sends: [OutboxSend] = []

    public init(activities: [OutboxActivity] = [], sends: [OutboxSend] = []) {
        self.activities = activities
        self.sends = sends
    }

    public var isEmpty: Bool { activities.isEmpty && sends.isEmpty }

    public static func + (a: OutboxCommit, b: OutboxCommit) -> OutboxCommit {
        OutboxCommit(activities: a.activities + b.activities, sends: a.sends + b.sends)
    }
}

/// The outbox rows one transaction writes; publish `committed` after the commit.
public struct ActivityOutbox {
    public let conn: PostgresConnection
    public let logger: Logger
    /// `system` for the matcher, the user id for API changes.
    public let actor: String
    /// Buffered: `add` only collects, `flush` writes everything collected in one statement
    /// (a batch's many events in one round trip). `committed` holds what has been flushed.
    public let buffered: Bool
    /// The trace the next activities continue (the `traceparent` of the span handling the
    /// record that causes them); stored with each, carried when it is published.
    public var traceParent: String?
    public private(set) var committed = OutboxCommit()
    private var pending: [(activity: CRMActivity, traceParent: String?)] = []

    public init(
        conn: PostgresConnection, logger: Logger, actor: String = "system", buffered: Bool = false,
        traceParent: String? = nil
    ) {
        self.conn = conn
        self.logger = logger
        self.actor = actor
        self.buffered = buffered
        self.traceParent = traceParent
    }

    /// Writes the buffered activities; returns everything written so far.
    @discardableResult
    public mutating func flush() async throws -> OutboxCommit {
        guard !pending.isEmpty else { return committed }
        committed.activities += try await ActivityStore.addMany(
            pending.map(\.activity), traceParents: pending.map(\.traceParent), on: conn, logger: logger)
        pending.removeAll()
        return committed
    }

    public mutating func add(
        _ kind: String, entity: String, id: UUID, contact: UUID, version: Int, at: Date = .now, data: JSONValue
    ) async throws {
        let activity = CRMActivity(
            kind: kind, entity: entity, entityId: id.uuidString, contactId: contact.uuidString, version: version,
            at: at, actor: actor, data: data)
        if buffered {
            pending.append((activity, traceParent))
        } else {
            committed.activities += try await ActivityStore.addMany(
                [activity], traceParents: [traceParent], on: conn, logger: logger)
        }
    }

    public mutating func add(
        _ kind: String, _ entity: String, _ id: UUID, contact: UUID, version: Int, at: Date,
        data: [String: JSONValue]
    ) async throws {
        try await add(kind, entity: entity, id: id, contact: contact, version: version, at: at, data: .object(data))
    }

    /// Queues a rule's template send (once per request id) for publishing after the commit.
    public mutating func queueSend(_ request: OutboundRequest, execution: Int64) async throws {
        if try await WorkflowStore.addSend(
            request, execution: execution, traceParent: traceParent, on: conn, logger: logger)
        {
            committed.sends.append(OutboxSend(request: request, traceParent: traceParent))
        }
    }
}
