import Foundation
import PostgresNIO
import WireModels

/// The `crm_activity` outbox. A change writes its `CRMActivity` here in the change's own
/// transaction; after the commit the writer publishes it to `crm.activity` and marks it
/// published (`ActivityPublisher`), and a relay publishes whatever a crash left unpublished.
/// The event id (`kind:entity_id:version`) is unique: writing a change twice adds nothing.
public enum ActivityStore {
    /// Records several activities in one statement; returns the outbox ids of those not
    /// recorded before, in the order given. `traceParents` (parallel, or empty) is the trace
    /// each activity continues when it is published.
    public static func addMany(
        _ activities: [CRMActivity], traceParents: [String?] = [], on conn: PostgresConnection, logger: Logger
    ) async throws -> [Int64] {
        guard !activities.isEmpty else { return [] }
        let encoder = JSONCoding.encoder()
        // PostgresNIO binds no arrays of optionals: "" stands for NULL (NULLIF below).
        let data = try activities.map { a in
            try a.data.map { String(decoding: try encoder.encode($0), as: UTF8.self) } ?? ""
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
            RETURNING id
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids.sorted()
    }

    /// Outbox rows not yet published: the given ids, or (ids nil) every row older than `olderThan`.
    public static func unpublished(
        ids: [Int64]?, olderThan: Duration = .zero, limit: Int = 500, on client: PostgresClient, logger: Logger
    ) async throws -> [(id: Int64, activity: CRMActivity, traceParent: String?)] {
        let rows: PostgresRowSequence
        if let ids {
            rows = try await client.query(
                """
                SELECT id, kind, entity, entity_id, contact_id, version, at, actor, data::text, trace_parent
                FROM crm_activity WHERE id = ANY(\(ids)) AND published_at IS NULL ORDER BY id
                """, logger: logger)
        } else {
            let seconds = Double(olderThan.components.seconds)
            rows = try await client.query(
                """
                SELECT id, kind, entity, entity_id, contact_id, version, at, actor, data::text, trace_parent
                FROM crm_activity WHERE published_at IS NULL AND created_at < now() - make_interval(secs => \(seconds))
                ORDER BY id LIMIT \(limit)
                """, logger: logger)
        }
        var out: [(id: Int64, activity: CRMActivity, traceParent: String?)] = []
        for try await (id, kind, entity, entityId, contact, version, at, actor, data, trace) in rows.decode(
            (Int64, String, String, String, UUID?, Int, Date, String, String?, String?).self)
        {
            let activity = try Self.activity(kind, entity, entityId, contact, version, at, actor, data)
            out.append((id, activity, trace))
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

/// The activity rows one transaction writes; publish `ids` after the commit.
public struct ActivityOutbox {
    public let conn: PostgresConnection
    public let logger: Logger
    /// `system` for the matcher, the user id for API changes.
    public let actor: String
    public private(set) var ids: [Int64] = []
    /// Buffered: `add` only collects, `flush` writes everything collected in one statement
    /// (a batch's many events in one round trip). `ids` holds what has been flushed.
    public let buffered: Bool
    /// The trace the next activities continue (the `traceparent` of the span handling the
    /// record that causes them); stored with each, carried when it is published.
    public var traceParent: String?
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

    /// Writes the buffered activities; returns every id written so far.
    @discardableResult
    public mutating func flush() async throws -> [Int64] {
        guard !pending.isEmpty else { return ids }
        ids += try await ActivityStore.addMany(
            pending.map(\.activity), traceParents: pending.map(\.traceParent), on: conn, logger: logger)
        pending.removeAll()
        return ids
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
            ids += try await ActivityStore.addMany([activity], traceParents: [traceParent], on: conn, logger: logger)
        }
    }

    public mutating func add(
        _ kind: String, _ entity: String, _ id: UUID, contact: UUID, version: Int, at: Date,
        data: [String: JSONValue]
    ) async throws {
        try await add(kind, entity: entity, id: id, contact: contact, version: version, at: at, data: .object(data))
    }
}
