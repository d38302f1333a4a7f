import CRMCore
import Foundation
import PostgresNIO

/// `routing_rules`: written by the API and the config file, read (in evaluation order) by
/// crm-matcher. A rule that round-robins creates its department's cursor row in the same
/// transaction, so the matcher only ever locks existing cursor rows.
public enum RoutingRuleStore {
    /// A unique rule was violated: another rule has this name, or a sticky_owner rule exists.
    public struct Conflict: Error, Sendable, Equatable {
        public var message: String
    }

    static let columns = """
        id, name, position, active, kind, match_values, assign_owner_id, assign_round_robin, assign_queue,
        contact_owner, open_lead, created_at, updated_at
        """
    static let order = "ORDER BY position, created_at, id"

    /// Every rule, active or not, in evaluation order (the matcher needs the inactive ones too:
    /// an inactive sticky_owner rule turns stickiness off).
    public static func all(on conn: PostgresConnection, logger: Logger) async throws -> [RoutingRule] {
        try await decode(
            conn.query("SELECT \(unescaped: columns) FROM routing_rules \(unescaped: order)", logger: logger))
    }

    /// One page of the rules in evaluation order (offset paging: there are few rules).
    public static func list(offset: Int, limit: Int, on client: PostgresClient, logger: Logger) async throws
        -> [RoutingRule]
    {
        try await decode(
            client.query(
                """
                SELECT \(unescaped: columns) FROM routing_rules \(unescaped: order) OFFSET \(offset) LIMIT \(limit)
                """, logger: logger))
    }

    public static func get(id: UUID, lock: Bool = false, on conn: PostgresConnection, logger: Logger) async throws
        -> RoutingRule?
    {
        try await decode(
            conn.query(
                """
                SELECT \(unescaped: columns) FROM routing_rules WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")
                """, logger: logger)
        ).first
    }

    /// Inserts a rule; `Conflict` when its name is taken or it is a second sticky_owner rule.
    public static func create(_ spec: RoutingRuleSpec, createdBy: String, on conn: PostgresConnection, logger: Logger)
        async throws -> RoutingRule
    {
        try await insert(spec, createdBy: createdBy, onConflict: "", on: conn, logger: logger)
    }

    /// Replaces every field of the rule; nil when there is no such rule.
    public static func update(id: UUID, _ spec: RoutingRuleSpec, on conn: PostgresConnection, logger: Logger)
        async throws -> RoutingRule?
    {
        let t = Target(spec.target)
        let rows = try await uniquely {
            try await decode(
                conn.query(
                    """
                    UPDATE routing_rules SET name = \(spec.name), position = \(spec.position), active = \(spec.active),
                        kind = \(spec.kind.rawValue), match_values = \(spec.values), assign_owner_id = \(t.owner),
                        assign_round_robin = \(t.roundRobin), assign_queue = \(t.queue),
                        contact_owner = \(spec.contactOwner.rawValue), open_lead = \(spec.openLead), updated_at = now()
                    WHERE id = \(id)
                    RETURNING \(unescaped: columns)
                    """, logger: logger))
        }
        guard let rule = rows.first else { return nil }
        try await ensureCursor(spec.target, on: conn, logger: logger)
        return rule
    }

    /// The config file's write: the rule with this name gets exactly the file's fields
    /// (`updated_at` moves only when one of them changed).
    @discardableResult
    public static func upsert(_ spec: RoutingRuleSpec, createdBy: String, on conn: PostgresConnection, logger: Logger)
        async throws -> RoutingRule
    {
        try await insert(spec, createdBy: createdBy, onConflict: byName, on: conn, logger: logger)
    }

    static let written = """
        position, active, kind, match_values, assign_owner_id, assign_round_robin, assign_queue, contact_owner,
        open_lead
        """
    static let byName = """
        ON CONFLICT (name) DO UPDATE SET (\(written)) = ROW(\(excluded)),
            updated_at = CASE WHEN (\(current)) IS NOT DISTINCT FROM (\(excluded))
                              THEN routing_rules.updated_at ELSE now() END
        """
    static var excluded: String { prefixed("excluded.") }
    static var current: String { prefixed("routing_rules.") }
    static func prefixed(_ table: String) -> String {
        written.split(separator: ",").map { table + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .joined(separator: ", ")
    }

    static func insert(
        _ spec: RoutingRuleSpec, createdBy: String, onConflict: String, on conn: PostgresConnection, logger: Logger
    ) async throws -> RoutingRule {
        let t = Target(spec.target)
        let rows = try await uniquely {
            try await decode(
                conn.query(
                    """
                    INSERT INTO routing_rules (name, \(unescaped: written), created_by)
                    VALUES (\(spec.name), \(spec.position), \(spec.active), \(spec.kind.rawValue), \(spec.values),
                        \(t.owner), \(t.roundRobin), \(t.queue), \(spec.contactOwner.rawValue), \(spec.openLead),
                        \(createdBy))
                    \(unescaped: onConflict)
                    RETURNING \(unescaped: columns)
                    """, logger: logger))
        }
        guard let rule = rows.first else { throw StorageError.invalid("insert returned no row") }
        try await ensureCursor(spec.target, on: conn, logger: logger)
        return rule
    }

    static func ensureCursor(_ target: RoutingTarget?, on conn: PostgresConnection, logger: Logger) async throws {
        guard case .roundRobin(let department)? = target else { return }
        try await conn.query(
            "INSERT INTO routing_cursors (department) VALUES (\(department)) ON CONFLICT DO NOTHING", logger: logger)
    }

    /// Runs a write, turning a unique violation into `Conflict` with what was violated.
    static func uniquely(_ write: () async throws -> [RoutingRule]) async throws -> [RoutingRule] {
        do {
            return try await write()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            let constraint = error.serverInfo?[.constraintName] ?? ""
            throw Conflict(
                message: constraint.contains("sticky")
                    ? "there is a sticky_owner rule already (change or deactivate that one)"
                    : "a routing rule with this name exists already")
        }
    }

    /// The three nullable target columns.
    struct Target {
        var owner: UUID?
        var roundRobin: String?
        var queue: String?

        init(_ target: RoutingTarget?) {
            switch target {
            case .owner(let id)?: owner = id
            case .roundRobin(let department)?: roundRobin = department
            case .queue(let name)?: queue = name
            case nil: break
            }
        }

        var target: RoutingTarget? {
            if let owner { return .owner(owner) }
            if let roundRobin { return .roundRobin(roundRobin) }
            return queue.map(RoutingTarget.queue)
        }
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [RoutingRule] {
        var out: [RoutingRule] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            let kindRaw = try r[4].decode(String.self)
            let policyRaw = try r[9].decode(String.self)
            guard let kind = RoutingRuleKind(rawValue: kindRaw), let policy = ContactOwnerPolicy(rawValue: policyRaw)
            else { throw StorageError.invalid("routing rule with unknown kind \(kindRaw) or policy \(policyRaw)") }
            let target = Target(
                owner: try r[6].decode(UUID?.self), roundRobin: try r[7].decode(String?.self),
                queue: try r[8].decode(String?.self)
            ).target
            let spec = RoutingRuleSpec(
                name: try r[1].decode(String.self), position: try r[2].decode(Int.self),
                active: try r[3].decode(Bool.self), kind: kind, values: try r[5].decode([String].self), target: target,
                contactOwner: policy, openLead: try r[10].decode(Bool.self))
            out.append(
                RoutingRule(
                    id: try r[0].decode(UUID.self), spec: spec, createdAt: try r[11].decode(Date.self),
                    updatedAt: try r[12].decode(Date.self)))
        }
        return out
    }
}

extension RoutingRuleStore.Target {
    init(owner: UUID?, roundRobin: String?, queue: String?) {
        self.owner = owner
        self.roundRobin = roundRobin
        self.queue = queue
    }
}

extension RoutingRuleStore {
    /// After the last rule, in steps of 10 (room to insert between).
    public static func nextPosition(on conn: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await conn.query("SELECT COALESCE(max(position), 0) + 10 FROM routing_rules", logger: logger)
        for try await n in rows.decode(Int.self) { return min(n, RoutingRuleSpec.positions.upperBound) }
        return 10
    }
}
