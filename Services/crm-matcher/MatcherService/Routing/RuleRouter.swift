import CRMCore
import Foundation
import Logging
import PostgresNIO
import Storage
import Synchronization
import WireModels

/// The `LeadRouter` of owner routing rules (`routing_rules`, written by the API and the config
/// file). For an enquiry that opens a lead it walks the rules in order (`RuleMatching`) and
/// takes the first that can assign: the contact's active owner (sticky), a given active user,
/// the department's next active agent (round-robin), or a queue (no owner). A rule may also
/// say that no lead opens. Runs inside the matcher's transaction, which holds the contact's
/// row lock; once the lead exists, `opened` records the assignment (`owner_assignments`),
/// gives the contact its owner when the rule's policy says so, and writes `contact.assigned`
/// (and `contact.owner_changed`) to the outbox.
///
/// Rules are cached for `ttl` (1 s by default): a lead-opening burst does not read them once
/// per lead, and an edit reaches every replica within a second.
public struct RuleRouter: LeadRouter {
    let cache: RuleCache

    public init(ttl: Duration = .seconds(1)) {
        cache = RuleCache(ttl: ttl)
    }

    public func decide(_ enquiry: LeadEnquiry, on conn: PostgresConnection, logger: Logger) async throws
        -> LeadDecision
    {
        let steps = try await cache.steps(on: conn, logger: logger)
        let m = enquiry.message
        var activeOwner: UUID?
        if let owner = enquiry.contactOwnerId, try await UserLookup.isActive(owner, on: conn, logger: logger) {
            activeOwner = owner
        }
        let usesDepartment = steps.contains {
            if case .rule(let r) = $0 { return r.spec.kind == .department }
            return false
        }
        let department =
            usesDepartment ? try await PhoneNumberStore.department(of: m.phoneNumberId, on: conn, logger: logger) : nil
        let facts = RoutingFacts(
            message: m, campaignId: enquiry.campaignId, numberDepartment: department, activeOwner: activeOwner)

        var skipped: [String] = []
        for candidate in RuleMatching.candidates(steps, facts) {
            guard case .rule(let rule) = candidate.step else {
                return Self.sticky(activeOwner, rule: nil, matched: candidate.matched, skipped: skipped)
            }
            let spec = rule.spec
            let what = "\(spec.kind.rawValue) rule \"\(spec.name)\" matched \(candidate.matched)"
            if !spec.openLead {
                RoutingMetrics.decided("no_lead")
                return LeadDecision(open: false, ownerId: nil, reason: Self.reason(what + ": no lead", skipped))
            }
            if spec.kind == .stickyOwner {
                return Self.sticky(activeOwner, rule: rule, matched: candidate.matched, skipped: skipped)
            }
            let resolved: (owner: UUID?, queue: String?, method: OwnerAssignment.Method, how: String)
            switch spec.target {
            case .owner(let id)?:
                guard try await UserLookup.isActive(id, on: conn, logger: logger) else {
                    skipped.append("\(spec.name) (its owner is inactive)")
                    RoutingMetrics.skipped("inactive_owner")
                    continue
                }
                resolved = (id, nil, .owner, "owner \(id.uuidString.lowercased())")
            case .roundRobin(let team)?:
                guard let agent = try await OwnerAssignmentStore.nextAgent(department: team, on: conn, logger: logger)
                else {
                    skipped.append("\(spec.name) (no active agent in \(team))")
                    RoutingMetrics.skipped("no_active_agent")
                    continue
                }
                resolved = (agent, nil, .roundRobin, "round-robin \(team): \(agent.uuidString.lowercased())")
            case .queue(let queue)?:
                resolved = (nil, queue, .queue, "queue \(queue)")
            case nil:
                continue  // refused by validation; a row written around it assigns nothing
            }
            let reason = Self.reason("\(what): \(resolved.how)", skipped)
            RoutingMetrics.decided(resolved.method.rawValue)
            return LeadDecision(
                open: true, ownerId: resolved.owner, reason: reason,
                assignment: OwnerAssignment(
                    ownerId: resolved.owner, queue: resolved.queue, ruleId: rule.id, ruleName: spec.name,
                    method: resolved.method, reason: reason, contactOwner: spec.contactOwner))
        }
        RoutingMetrics.decided("unassigned")
        return LeadDecision(
            open: true, ownerId: nil, reason: Self.reason("unassigned: no routing rule matched", skipped))
    }

    public func opened(_ lead: LeadRow, for enquiry: LeadEnquiry, decision: LeadDecision, outbox: inout ActivityOutbox)
        async throws
    {
        guard let a = decision.assignment else { return }
        let m = enquiry.message
        let conn = outbox.conn
        let logger = outbox.logger
        guard
            let id = try await OwnerAssignmentStore.record(
                a, contactId: enquiry.contactId, leadId: lead.id, contactOwnerSet: false,
                sourceEventId: "wamid:" + m.wamid, at: m.timestamp, on: conn, logger: logger)
        else { return }  // recorded before: a redelivery
        let ruleId = a.ruleId.map { JSONValue.string($0.uuidString) } ?? .null
        var contactOwnerSet = false
        if let owner = a.ownerId, a.method != .stickyOwner,
            let change = try await OwnerAssignmentStore.setContactOwner(
                contactId: enquiry.contactId, ownerId: owner, policy: a.contactOwner, on: conn, logger: logger)
        {
            contactOwnerSet = true
            try await OwnerAssignmentStore.markContactOwnerSet(id, on: conn, logger: logger)
            try await outbox.add(
                "contact.owner_changed", "contact", enquiry.contactId, contact: enquiry.contactId,
                version: change.version, at: m.timestamp,
                data: [
                    "owner_id": .string(owner.uuidString),
                    "previous_owner_id": change.previous.map { .string($0.uuidString) } ?? .null,
                    "reason": .string(a.reason), "rule_id": ruleId,
                ])
        }
        try await outbox.add(
            "contact.assigned", "owner_assignment", id, contact: enquiry.contactId, version: 1, at: m.timestamp,
            data: [
                "lead_id": .string(lead.id.uuidString), "owner_id": a.ownerId.map { .string($0.uuidString) } ?? .null,
                "queue": a.queue.map(JSONValue.string) ?? .null, "rule_id": ruleId,
                "rule_name": a.ruleName.map(JSONValue.string) ?? .null, "method": .string(a.method.rawValue),
                "reason": .string(a.reason), "contact_owner_set": .bool(contactOwnerSet), "wamid": .string(m.wamid),
            ])
        logger.debug(
            "lead assigned",
            metadata: [
                "lead_id": "\(lead.id)", "method": "\(a.method.rawValue)", "rule": "\(a.ruleName ?? "-")",
                "owner_id": "\(a.ownerId.map { "\($0)" } ?? "-")", "queue": "\(a.queue ?? "-")",
            ])
    }

    static func sticky(_ owner: UUID?, rule: RoutingRule?, matched: String, skipped: [String]) -> LeadDecision {
        let decided = rule.map { "sticky_owner rule \"\($0.spec.name)\": \(matched) keeps it" } ?? "sticky_owner"
        let reason = Self.reason(decided, skipped)
        RoutingMetrics.decided(OwnerAssignment.Method.stickyOwner.rawValue)
        return LeadDecision(
            open: true, ownerId: owner, reason: reason,
            assignment: OwnerAssignment(
                ownerId: owner, queue: nil, ruleId: rule?.id, ruleName: rule?.spec.name, method: .stickyOwner,
                reason: reason, contactOwner: .never))
    }

    static func reason(_ decided: String, _ skipped: [String]) -> String {
        skipped.isEmpty ? decided : decided + "; skipped: " + skipped.joined(separator: ", ")
    }
}

/// The rules (as evaluation steps), re-read when older than the TTL. Shared by the batches of
/// one consumer; a miss reads on the caller's connection (inside its transaction).
final class RuleCache: Sendable {
    let ttl: Duration
    let state = Mutex<(steps: [RuleMatching.Step], at: ContinuousClock.Instant)?>(nil)

    init(ttl: Duration) {
        self.ttl = ttl
    }

    func steps(on conn: PostgresConnection, logger: Logger) async throws -> [RuleMatching.Step] {
        let now = ContinuousClock.now
        if ttl > .zero, let cached = state.withLock({ $0 }), now - cached.at < ttl { return cached.steps }
        let steps = RuleMatching.plan(try await RoutingRuleStore.all(on: conn, logger: logger))
        state.withLock { $0 = (steps, now) }
        return steps
    }
}
