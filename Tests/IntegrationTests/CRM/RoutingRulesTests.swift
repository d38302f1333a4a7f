import CRMCore
import Foundation
import Logging
import MatcherService
import PostgresNIO
import Storage
import Testing
import WireModels

/// Owner routing rules in crm-matcher's transaction on the real PostgreSQL: each rule kind,
/// round-robin (even, skipping inactive agents, from two workers at once), the fallback
/// queue, and the assignment record with its reason and events.
@Suite(.timeLimit(.minutes(3)))
struct RoutingRulesTests {
    typealias F = CRMFixtures

    /// A user made in SQL (the users API is not this suite's subject).
    static func user(
        _ db: TestDatabase, _ name: String, role: String = "agent", department: String? = nil, active: Bool = true
    ) async throws -> UUID {
        let email = "\(name.lowercased())-\(UUID().uuidString.prefix(6))@example.com"
        let rows = try await db.client.query(
            """
            INSERT INTO users (name, email, role, department, active)
            VALUES (\(name), \(email), \(role), \(department), \(active))
            RETURNING id
            """)
        for try await id in rows.decode(UUID.self) { return id }
        throw StorageError.invalid("no user")
    }

    @discardableResult
    static func rule(
        _ db: TestDatabase, _ name: String, _ kind: RoutingRuleKind, _ values: [String] = [],
        _ target: RoutingTarget? = nil, position: Int, active: Bool = true,
        contactOwner: ContactOwnerPolicy = .ifUnassigned, openLead: Bool = true
    ) async throws -> RoutingRule {
        let spec = RoutingRuleSpec(
            name: name, position: position, active: active, kind: kind, values: values, target: target,
            contactOwner: contactOwner, openLead: openLead)
        #expect(spec.problems.isEmpty, "\(spec.problems)")
        return try await db.client.transaction(logger: F.logger) { conn in
            try await RoutingRuleStore.create(spec, createdBy: "test", on: conn, logger: F.logger)
        }
    }

    /// The matcher's transaction with the rule router (no cache: each test changes rules).
    @discardableResult
    static func process(_ messages: [InboundMessage], on client: PostgresClient) async throws -> OutboxCommit {
        let processor = InboundProcessor(settings: MatcherSettings(), router: RuleRouter(ttl: .zero))
        return try await client.withTransaction(logger: F.logger) { conn in
            try await processor.process(messages, on: conn, logger: F.logger)
        }
    }

    /// The lead (owner, reason) and assignment (method, queue, rule) of a contact's newest lead.
    struct Outcome {
        var leadOwner: UUID?
        var reason: String?
        var method: String?
        var queue: String?
        var ruleName: String?
        var contactOwner: UUID?
    }

    static func outcome(_ db: TestDatabase, from waId: String) async throws -> Outcome? {
        let rows = try await db.client.query(
            """
            SELECT l.owner_id, a.reason, a.method, a.queue, r.name, c.owner_id,
                   (SELECT data->>'reason' FROM crm_activity WHERE kind = 'lead.opened' AND entity_id = upper(l.id::text))
            FROM leads l JOIN contacts c ON c.id = l.contact_id
            LEFT JOIN owner_assignments a ON a.lead_id = l.id
            LEFT JOIN routing_rules r ON r.id = a.rule_id
            WHERE c.wa_id = \(waId) ORDER BY l.opened_at DESC, l.created_at DESC LIMIT 1
            """)
        for try await (owner, reason, method, queue, rule, contactOwner, opened) in rows.decode(
            (UUID?, String?, String?, String?, String?, UUID?, String?).self)
        {
            // The lead.opened activity carries the same reason as the assignment row.
            if let reason { #expect(opened == reason) }
            return Outcome(
                leadOwner: owner, reason: reason ?? opened, method: method, queue: queue, ruleName: rule,
                contactOwner: contactOwner)
        }
        return nil
    }

    static func message(
        from: String, text: String? = "Olá", type: String = "text", number: String = F.phoneNumberId,
        at: Date = Date(timeIntervalSince1970: 1_764_090_000), contextId: String? = nil,
        configure: (inout MessageDetails) -> Void = { _ in }
    ) -> InboundMessage {
        var m = F.message(from: from, text: text, type: type, at: at, contextId: contextId, configure: configure)
        m.phoneNumberId = number
        return m
    }

    static func closeLeads(_ db: TestDatabase, of waId: String) async throws {
        try await db.client.query(
            """
            UPDATE leads SET status = 'won', closed_at = now()
            WHERE contact_id = (SELECT id FROM contacts WHERE wa_id = \(waId)) AND status = 'open'
            """)
    }

    @Test func theContactsOwnerKeepsItUntilARuleTurnsStickinessOff() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let owner = try await Self.user(db, "Olga")
        // No rules at all: unassigned, and nothing recorded as an assignment.
        try await Self.process([Self.message(from: "5511911110001")], on: db.client)
        var o = try #require(try await Self.outcome(db, from: "5511911110001"))
        #expect(o.leadOwner == nil)
        #expect(o.method == nil)
        #expect(o.reason?.hasPrefix("unassigned") == true)
        #expect(try await db.count("SELECT 1 FROM owner_assignments") == 0)

        // The contact gets an owner; its next lead is theirs (built-in stickiness).
        try await db.client.query("UPDATE contacts SET owner_id = \(owner) WHERE wa_id = '5511911110001'")
        try await Self.closeLeads(db, of: "5511911110001")
        try await Self.rule(db, "Everything else", .fallback, [], .queue("triage"), position: 100)
        try await Self.process([Self.message(from: "5511911110001", text: "de novo")], on: db.client)
        o = try #require(try await Self.outcome(db, from: "5511911110001"))
        #expect(o.leadOwner == owner)
        #expect(o.method == "sticky_owner")
        #expect(o.reason == "sticky_owner")

        // A deactivated owner does not keep it: the next rule (the queue) does.
        try await db.client.query("UPDATE users SET active = false WHERE id = \(owner)")
        try await Self.closeLeads(db, of: "5511911110001")
        try await Self.process([Self.message(from: "5511911110001", text: "oi")], on: db.client)
        o = try #require(try await Self.outcome(db, from: "5511911110001"))
        #expect(o.leadOwner == nil)
        #expect(o.queue == "triage")
        try await db.client.query("UPDATE users SET active = true WHERE id = \(owner)")

        // An inactive sticky_owner rule turns stickiness off.
        try await Self.rule(db, "Keep owners", .stickyOwner, position: 50, active: false)
        try await Self.closeLeads(db, of: "5511911110001")
        try await Self.process([Self.message(from: "5511911110001", text: "oi de novo")], on: db.client)
        o = try #require(try await Self.outcome(db, from: "5511911110001"))
        #expect(o.method == "queue")
        #expect(o.ruleName == "Everything else")
        #expect(try await F.string(db, "SELECT owner_id::text FROM contacts") == owner.uuidString.lowercased())
    }

    @Test func byBusinessNumberAndByTheNumbersDepartment() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let vip = try await Self.user(db, "Vera", role: "manager")
        let supportAgent = try await Self.user(db, "Sam", department: "support")
        try await db.client.query(
            "INSERT INTO wa_phone_numbers (phone_number_id, department) VALUES ('100000000000009', 'Support')")
        try await Self.rule(db, "VIP line", .phoneNumber, [F.phoneNumberId], .owner(vip), position: 10)
        try await Self.rule(db, "Support numbers", .department, ["support"], .roundRobin("support"), position: 20)

        try await Self.process([Self.message(from: "5511922220001")], on: db.client)
        try await Self.process([Self.message(from: "5511922220002", number: "100000000000009")], on: db.client)
        try await Self.process([Self.message(from: "5511922220003", number: "100000000000005")], on: db.client)

        let onVip = try #require(try await Self.outcome(db, from: "5511922220001"))
        #expect(onVip.leadOwner == vip)
        #expect(onVip.method == "owner")
        #expect(onVip.contactOwner == vip)  // the contact had none: it is the rule's owner's now
        #expect(onVip.reason?.contains("phone_number rule \"VIP line\" matched number \(F.phoneNumberId)") == true)
        let onSupport = try #require(try await Self.outcome(db, from: "5511922220002"))
        #expect(onSupport.leadOwner == supportAgent)
        #expect(onSupport.method == "round_robin")
        let elsewhere = try #require(try await Self.outcome(db, from: "5511922220003"))
        #expect(elsewhere.leadOwner == nil)
        #expect(elsewhere.method == nil)
    }

    @Test func byKeywordAndByButtonOrListReplyPayload() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let pricing = try await Self.user(db, "Paula")
        let promo = try await Self.user(db, "Pedro")
        let plans = try await Self.user(db, "Pia")
        try await Self.rule(db, "Pricing", .keyword, ["preço", "how much"], .owner(pricing), position: 10)
        try await Self.rule(db, "Promo button", .payload, ["PROMO_YES"], .owner(promo), position: 20)
        try await Self.rule(db, "Gold plan", .payload, ["plan_gold"], .owner(plans), position: 30)
        try await Self.rule(db, "Jobs", .keyword, ["vaga"], position: 5, openLead: false)

        try await Self.process([Self.message(from: "5511933330001", text: "Qual o PRECO, por favor?")], on: db.client)
        try await Self.process([Self.message(from: "5511933330002", text: "How much is it")], on: db.client)
        let quickReply = Self.message(from: "5511933330003", text: "Quero!", type: "button") {
            $0.reply = .init(
                kind: "quick_reply", id: nil, title: "Quero!", description: nil, payload: "PROMO_YES",
                responseJSON: nil)
        }
        let listReply = Self.message(from: "5511933330004", text: nil, type: "interactive") {
            $0.reply = .init(
                kind: "list_reply", id: "plan_gold", title: "Plano Ouro", description: nil, payload: nil,
                responseJSON: nil)
        }
        try await Self.process([quickReply, listReply], on: db.client)
        try await Self.process([Self.message(from: "5511933330005", text: "Tem vaga de emprego?")], on: db.client)

        #expect(try await Self.outcome(db, from: "5511933330001")?.leadOwner == pricing)
        #expect(try await Self.outcome(db, from: "5511933330002")?.leadOwner == pricing)
        let tapped = try #require(try await Self.outcome(db, from: "5511933330003"))
        #expect(tapped.leadOwner == promo)
        #expect(tapped.reason?.contains("payload PROMO_YES") == true)
        #expect(try await Self.outcome(db, from: "5511933330004")?.leadOwner == plans)
        // "Jobs" opens no lead (the message and the conversation are still recorded).
        #expect(try await Self.outcome(db, from: "5511933330005") == nil)
        #expect(try await db.count("SELECT 1 FROM leads") == 4)
        #expect(try await db.count("SELECT 1 FROM conversations") == 5)
    }

    @Test func byAdAndByCampaignSource() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let adOwner = try await Self.user(db, "Ada")
        let anyAdOwner = try await Self.user(db, "Abel")
        let campaignAgent = try await Self.user(db, "Cid", department: "outbound")
        let campaign = UUID()
        try await db.client.query(
            """
            INSERT INTO messages (wamid, direction, phone_number_id, counterpart_wa_id, type, campaign_id)
            VALUES ('wamid.CAMP-R1', 'outbound', \(F.phoneNumberId), '5511944440003', 'template', \(campaign))
            """)
        try await Self.rule(db, "Ad 42", .ad, ["ad-42"], .owner(adOwner), position: 10)
        try await Self.rule(db, "Other ads", .ad, [], .owner(anyAdOwner), position: 20)
        try await Self.rule(
            db, "Spring campaign", .campaign, [campaign.uuidString], .roundRobin("outbound"), position: 30)

        func ad(_ from: String, _ id: String) -> InboundMessage {
            Self.message(from: from, text: "Vi o anúncio") {
                $0.referral = .init(
                    sourceURL: "https://fb.me/x", sourceId: id, sourceType: "ad", headline: nil, body: nil,
                    mediaType: nil, ctwaClid: "clid-" + id)
            }
        }
        try await Self.process(
            [
                ad("5511944440001", "ad-42"), ad("5511944440002", "ad-7"),
                Self.message(from: "5511944440003", text: "Quero saber mais", contextId: "wamid.CAMP-R1"),
            ], on: db.client)
        #expect(try await Self.outcome(db, from: "5511944440001")?.leadOwner == adOwner)
        #expect(try await Self.outcome(db, from: "5511944440002")?.leadOwner == anyAdOwner)
        let reply = try #require(try await Self.outcome(db, from: "5511944440003"))
        #expect(reply.leadOwner == campaignAgent)
        #expect(reply.ruleName == "Spring campaign")
    }

    @Test func roundRobinIsEvenOverThreeAgentsAndSkipsInactiveOnes() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        var agents: [UUID] = []
        for name in ["Ana", "Bia", "Caio"] { agents.append(try await Self.user(db, name, department: "sales")) }
        let away = try await Self.user(db, "Dora", department: "sales", active: false)
        let manager = try await Self.user(db, "Max", role: "manager", department: "sales")
        let other = try await Self.user(db, "Otto", department: "support")
        try await Self.rule(db, "Sales", .fallback, [], .roundRobin("sales"), position: 10)

        // Nine new people, in three batches of three: after each batch every agent has one more
        // (strictly in turn), and nobody else has any.
        let sorted = agents.sorted { $0.uuidString < $1.uuidString }
        for batch in 1...3 {
            try await Self.process(
                (0..<3).map { Self.message(from: "55119555500\(batch)\($0)") }, on: db.client)
            let counts = try await Self.ownerCounts(db)
            #expect(counts == Dictionary(uniqueKeysWithValues: agents.map { ($0, batch) }), "\(counts)")
            for skipped in [away, manager, other] { #expect(counts[skipped] == nil) }
        }
        // Each contact (ownerless until now) belongs to its lead's agent.
        #expect(
            try await db.count(
                "SELECT 1 FROM contacts c JOIN leads l ON l.contact_id = c.id WHERE c.owner_id = l.owner_id") == 9)
        #expect(try await db.count("SELECT 1 FROM owner_assignments WHERE contact_owner_set") == 9)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.owner_changed'") == 9)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.assigned'") == 9)

        // An agent who leaves is skipped from the next turn on.
        try await db.client.query("UPDATE users SET active = false WHERE id = \(sorted[1])")
        try await Self.process((0..<4).map { Self.message(from: "551195556000\($0)") }, on: db.client)
        let after = try await Self.ownerCounts(db)
        #expect(after[sorted[1]] == 3)
        #expect(after[sorted[0]] == 5)
        #expect(after[sorted[2]] == 5)
    }

    @Test func aDepartmentWithoutActiveAgentsFallsBackToTheQueue() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        _ = try await Self.user(db, "Gone", department: "night", active: false)
        try await Self.rule(db, "Night shift", .fallback, [], .roundRobin("night"), position: 10)
        try await Self.rule(db, "Triage", .fallback, [], .queue("triage"), position: 20)
        let events = try await Self.process([Self.message(from: "5511966660001")], on: db.client)
        let o = try #require(try await Self.outcome(db, from: "5511966660001"))
        #expect(o.leadOwner == nil)
        #expect(o.contactOwner == nil)
        #expect(o.method == "queue")
        #expect(o.queue == "triage")
        #expect(
            o.reason
                == "fallback rule \"Triage\" matched fallback: queue triage; skipped: Night shift (no active agent in night)"
        )
        let assigned = try await F.string(
            db, "SELECT data->>'queue' FROM crm_activity WHERE kind = 'contact.assigned'")
        #expect(assigned == "triage")
        #expect(events.activities.count == 4)  // contact.created, lead.opened, contact.assigned, conversation.opened
    }

    @Test func aRedeliveredBatchAssignsOnce() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        for name in ["A1", "A2"] { _ = try await Self.user(db, name, department: "sales") }
        try await Self.rule(db, "Sales", .fallback, [], .roundRobin("sales"), position: 10)
        let batch = [Self.message(from: "5511977770001"), Self.message(from: "5511977770002")]
        try await Self.process(batch, on: db.client)
        let second = try await Self.process(batch, on: db.client)
        #expect(second.isEmpty)
        #expect(try await db.count("SELECT 1 FROM owner_assignments") == 2)
        #expect(try await F.string(db, "SELECT assigned::text FROM routing_cursors WHERE department = 'sales'") == "2")
        #expect(try await Set(Self.ownerCounts(db).values) == [1])
    }

    @Test func twoWorkersRoundRobinAtOnceStayEvenAndNeverDeadlock() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        var sales: [UUID] = []
        var support: [UUID] = []
        for i in 0..<3 {
            sales.append(try await Self.user(db, "S\(i)", department: "sales"))
            support.append(try await Self.user(db, "T\(i)", department: "support"))
        }
        try await Self.rule(db, "Support words", .keyword, ["help"], .roundRobin("support"), position: 10)
        try await Self.rule(db, "Sales", .fallback, [], .roundRobin("sales"), position: 20)
        let workers = try (0..<2).map { _ in try db.newClient() }
        defer {
            for (_, task) in workers { task.cancel() }
        }
        // Each batch routes to both departments, the two workers in opposite orders: with one
        // cursor lock taken at a time this is the textbook deadlock.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (w, (client, _)) in workers.enumerated() {
                group.addTask {
                    for batch in 0..<9 {
                        let a = Self.message(from: "551198\(w)\(batch)00001", text: "quero comprar")
                        let b = Self.message(from: "551198\(w)\(batch)00002", text: "help me")
                        try await Self.process(w == 0 ? [a, b] : [b, a], on: client)
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = try await Self.ownerCounts(db)
        for agent in sales + support { #expect(counts[agent] == 6, "\(counts)") }
        #expect(try await db.count("SELECT 1 FROM owner_assignments") == 36)
    }

    static func ownerCounts(_ db: TestDatabase) async throws -> [UUID: Int] {
        var out: [UUID: Int] = [:]
        let rows = try await db.client.query(
            "SELECT owner_id, count(*)::int FROM leads WHERE owner_id IS NOT NULL GROUP BY owner_id")
        for try await (owner, n) in rows.decode((UUID, Int).self) { out[owner] = n }
        return out
    }

}
