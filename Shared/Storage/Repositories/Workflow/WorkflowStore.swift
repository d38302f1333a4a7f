import CRMCore
import Foundation
import PostgresNIO
import WireModels

/// Workflow rules, their executions (one per rule and trigger event: a redelivered event never
/// runs a rule twice) and the template sends rules queue.
public enum WorkflowStore {
    static let columns =
        "id, name, trigger::text, conditions::text, actions::text, position, active, version, created_at, updated_at"

    /// The fields of a new rule, or the new values of a changed one.
    public struct Fields: Sendable {
        public var name: String
        public var trigger: WorkflowTrigger
        public var conditions: [WorkflowCondition]
        public var actions: [WorkflowAction]
        public var position: Int
        public var active: Bool

        public init(
            name: String, trigger: WorkflowTrigger, conditions: [WorkflowCondition], actions: [WorkflowAction],
            position: Int, active: Bool
        ) {
            self.name = name
            self.trigger = trigger
            self.conditions = conditions
            self.actions = actions
            self.position = position
            self.active = active
        }

        public init(_ rule: WorkflowRule) {
            self.init(
                name: rule.name, trigger: rule.trigger, conditions: rule.conditions, actions: rule.actions,
                position: rule.position, active: rule.active)
        }
    }

    public static func create(_ f: Fields, createdBy: String, on conn: PostgresConnection, logger: Logger) async throws
        -> WorkflowRule
    {
        let (trigger, conditions, actions) = try encode(f)
        let rows = try await conn.query(
            """
            INSERT INTO workflow_rules (name, trigger, conditions, actions, position, active, created_by)
            VALUES (\(f.name), \(trigger)::jsonb, \(conditions)::jsonb, \(actions)::jsonb, \(f.position), \(f.active),
                    \(createdBy))
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let rule = try await decode(rows).first else { throw StorageError.invalid("rule not created") }
        return rule
    }

    public static func update(id: UUID, _ f: Fields, on conn: PostgresConnection, logger: Logger) async throws
        -> WorkflowRule
    {
        let (trigger, conditions, actions) = try encode(f)
        let rows = try await conn.query(
            """
            UPDATE workflow_rules SET name = \(f.name), trigger = \(trigger)::jsonb, conditions = \(conditions)::jsonb,
                actions = \(actions)::jsonb, position = \(f.position), active = \(f.active), version = version + 1,
                updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: columns)
            """, logger: logger)
        guard let rule = try await decode(rows).first else { throw StorageError.invalid("rule \(id) vanished") }
        return rule
    }

    public static func get(id: UUID, lock: Bool, on conn: PostgresConnection, logger: Logger) async throws
        -> WorkflowRule?
    {
        let rows = try await conn.query(
            """
            SELECT \(unescaped: columns) FROM workflow_rules WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        return try await decode(rows).first
    }

    /// Every rule in evaluation order (`position`, id), a page after `after` (position, id).
    public static func list(
        after: (position: Int, id: UUID)?, limit: Int, on client: PostgresClient, logger: Logger
    ) async throws -> [WorkflowRule] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: columns) FROM workflow_rules
            WHERE (\(after?.position)::int IS NULL OR (position, id) > (\(after?.position), \(after?.id)))
            ORDER BY position, id LIMIT \(limit)
            """, logger: logger)
        return try await decode(rows)
    }

    /// The active rules in evaluation order.
    public static func active(on conn: PostgresConnection, logger: Logger) async throws -> [WorkflowRule] {
        let rows = try await conn.query(
            "SELECT \(unescaped: columns) FROM workflow_rules WHERE active ORDER BY position, id", logger: logger)
        return try await decode(rows)
    }

    // MARK: - Executions

    /// Claims the execution of `rule` for `triggerEventId`; nil when it ran already.
    public static func begin(
        rule: UUID, triggerEventId: String, contactId: UUID?, on conn: PostgresConnection, logger: Logger
    ) async throws -> Int64? {
        let rows = try await conn.query(
            """
            INSERT INTO workflow_executions (rule_id, trigger_event_id, contact_id, outcome)
            VALUES (\(rule), \(triggerEventId), \(contactId), 'running')
            ON CONFLICT (rule_id, trigger_event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    /// What the execution did (one entry per action) and how it ended.
    public static func finish(
        _ execution: Int64, actions: [JSONValue], outcome: String, on conn: PostgresConnection, logger: Logger
    ) async throws {
        let json = try JSONCoding.text(JSONValue.array(actions))
        try await conn.query(
            "UPDATE workflow_executions SET actions = \(json)::jsonb, outcome = \(outcome) WHERE id = \(execution)",
            logger: logger)
    }

    // MARK: - Template sends

    /// Queues a rule's send for publishing after the commit; false when it was queued before.
    @discardableResult
    public static func addSend(
        _ request: OutboundRequest, execution: Int64, traceParent: String? = nil, on conn: PostgresConnection,
        logger: Logger
    ) async throws -> Bool {
        let payload = try JSONCoding.text(request)
        let rows = try await conn.query(
            """
            INSERT INTO workflow_sends (request_id, execution_id, payload, trace_parent)
            VALUES (\(request.requestId), \(execution), \(payload)::jsonb, \(traceParent))
            ON CONFLICT (request_id) DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Sends not yet published, older than `olderThan` (zero: all), oldest first, locked for
    /// the caller's transaction: concurrent relays (one per replica) skip each other's rows, so
    /// a leftover send is published once per commit of `markPublished`.
    public static func claimUnpublishedSends(
        olderThan: Duration, limit: Int, on conn: PostgresConnection, logger: Logger
    ) async throws -> [OutboxSend] {
        let seconds = Double(olderThan.components.seconds)
        let rows = try await conn.query(
            """
            SELECT payload::text, trace_parent FROM workflow_sends
            WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => \(seconds))
            ORDER BY created_at, request_id LIMIT \(limit)
            FOR UPDATE SKIP LOCKED
            """, logger: logger)
        var out: [OutboxSend] = []
        for try await (text, trace) in rows.decode((String, String?).self) {
            let request = try JSONCoding.decoder().decode(OutboundRequest.self, from: Data(text.utf8))
            out.append(OutboxSend(request: request, traceParent: trace))
        }
        return out
    }

    public static func markPublished(_ requestIds: [String], on conn: PostgresConnection, logger: Logger)
        async throws
    {
        guard !requestIds.isEmpty else { return }
        try await conn.query(
            "UPDATE workflow_sends SET published_at = now() WHERE request_id = ANY(\(requestIds))", logger: logger)
    }

    // MARK: - Coding

    static func encode(_ f: Fields) throws -> (String, String, String) {
        func text(_ v: JSONValue) throws -> String {
            try JSONCoding.text(v)
        }
        return (
            try text(f.trigger.json), try text(.array(f.conditions.map(\.json))),
            try text(.array(f.actions.map(\.json)))
        )
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [WorkflowRule] {
        var out: [WorkflowRule] = []
        for try await (id, name, trigger, conditions, actions, position, active, version, created, updated)
            in rows
            .decode((UUID, String, String, String, String, Int, Bool, Int, Date, Date).self)
        {
            func json(_ s: String) throws -> JSONValue {
                try JSONCoding.decoder().decode(JSONValue.self, from: Data(s.utf8))
            }
            var problems: [WorkflowProblem] = []
            guard let t = WorkflowRuleParser.trigger(try json(trigger), problems: &problems),
                let c = WorkflowRuleParser.conditions(try json(conditions), problems: &problems),
                let a = WorkflowRuleParser.actions(try json(actions), problems: &problems)
            else {
                throw StorageError.invalid("workflow rule \(id) is not readable: \(problems.map(\.description))")
            }
            out.append(
                WorkflowRule(
                    id: id, name: name, trigger: t, conditions: c, actions: a, position: position, active: active,
                    version: version, createdAt: created, updatedAt: updated))
        }
        return out
    }
}
