import CRMCore
import Foundation
import PostgresNIO

/// One routing decision that gave a lead an owner or a queue.
public struct OwnerAssignment: Sendable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case stickyOwner = "sticky_owner"
        case owner
        case roundRobin = "round_robin"
        case queue
    }

    public var ownerId: UUID?
    public var queue: String?
    /// nil for the implicit sticky owner (no rule configured).
    public var ruleId: UUID?
    public var ruleName: String?
    public var method: Method
    public var reason: String
    public var contactOwner: ContactOwnerPolicy

    public init(
        ownerId: UUID?, queue: String?, ruleId: UUID?, ruleName: String?, method: Method, reason: String,
        contactOwner: ContactOwnerPolicy
    ) {
        self.ownerId = ownerId
        self.queue = queue
        self.ruleId = ruleId
        self.ruleName = ruleName
        self.method = method
        self.reason = reason
        self.contactOwner = contactOwner
    }
}

/// `owner_assignments` (every assignment with its reason, once per source event) and the
/// round-robin cursors.
public enum OwnerAssignmentStore {
    /// Records the assignment; nil when this source event was recorded before (a redelivery).
    public static func record(
        _ a: OwnerAssignment, contactId: UUID, leadId: UUID?, contactOwnerSet: Bool, sourceEventId: String, at: Date,
        on conn: PostgresConnection, logger: Logger
    ) async throws -> UUID? {
        let rows = try await conn.query(
            """
            INSERT INTO owner_assignments (contact_id, lead_id, owner_id, queue, rule_id, method, reason,
                contact_owner_set, source_event_id, at)
            VALUES (\(contactId), \(leadId), \(a.ownerId), \(a.queue), \(a.ruleId), \(a.method.rawValue), \(a.reason),
                \(contactOwnerSet), \(sourceEventId), \(at))
            ON CONFLICT (source_event_id) DO NOTHING
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    public static func markContactOwnerSet(_ id: UUID, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query("UPDATE owner_assignments SET contact_owner_set = true WHERE id = \(id)", logger: logger)
    }

    /// Gives the contact this owner as the policy says; returns (new version, previous owner)
    /// when it changed. The caller holds the contact's row lock.
    public static func setContactOwner(
        contactId: UUID, ownerId: UUID, policy: ContactOwnerPolicy, on conn: PostgresConnection, logger: Logger
    ) async throws -> (version: Int, previous: UUID?)? {
        guard policy != .never else { return nil }
        let rows = try await conn.query(
            """
            UPDATE contacts c SET owner_id = \(ownerId), version = c.version + 1, updated_at = now()
            FROM (SELECT id, owner_id FROM contacts WHERE id = \(contactId)) old
            WHERE c.id = old.id AND c.owner_id IS DISTINCT FROM \(ownerId)
              AND (\(policy == .always) OR c.owner_id IS NULL)
            RETURNING c.version, old.owner_id
            """, logger: logger)
        for try await (version, previous) in rows.decode((Int, UUID?).self) { return (version, previous) }
        return nil
    }

    /// The department's next active agent after the one who got its last lead (in id order,
    /// wrapping), and moves the cursor to them; nil when the department has no active agent.
    ///
    /// Race-free across replicas: the cursor row stays locked until the caller's transaction
    /// commits. Every caller first locks *all* cursor rows in department order, so two batches
    /// that route to several departments in different orders wait for each other instead of
    /// deadlocking; re-locking rows a transaction holds already is free.
    public static func nextAgent(department: String, on conn: PostgresConnection, logger: Logger) async throws
        -> UUID?
    {
        var last = try await lockCursors(department: department, on: conn, logger: logger)
        if last == nil {
            // A rule written before its cursor existed (rule writes create it): create it now.
            try await conn.query(
                "INSERT INTO routing_cursors (department) VALUES (\(department)) ON CONFLICT DO NOTHING",
                logger: logger)
            last = try await lockCursors(department: department, on: conn, logger: logger)
        }
        let previous = last ?? nil
        let rows = try await conn.query(
            """
            SELECT id FROM users WHERE active AND role = 'agent' AND department = \(department)
            ORDER BY (id <= \(previous)) IS TRUE, id LIMIT 1
            """, logger: logger)
        var next: UUID?
        for try await id in rows.decode(UUID.self) { next = id }
        guard let next else { return nil }
        try await conn.query(
            """
            UPDATE routing_cursors SET last_owner_id = \(next), assigned = assigned + 1, updated_at = now()
            WHERE department = \(department)
            """, logger: logger)
        return next
    }

    /// Locks every cursor row (department order); returns the department's row (its last
    /// owner, maybe nil), or nil when it has no row.
    static func lockCursors(department: String, on conn: PostgresConnection, logger: Logger) async throws
        -> UUID??
    {
        let rows = try await conn.query(
            "SELECT department, last_owner_id FROM routing_cursors ORDER BY department FOR UPDATE", logger: logger)
        var found: UUID??
        for try await (name, last) in rows.decode((String, UUID?).self) where name == department {
            found = .some(last)
        }
        return found
    }
}
