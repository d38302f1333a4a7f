import Foundation
import GatewayService
import Hummingbird
import HummingbirdTesting
import Testing
import WireModels

/// `/api/v1/routing-rules` on the gateway's router and a real database: who may read and
/// write, validation listing every bad field, conflicts, the audit log and the order.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct RoutingRulesAPITests {
    static let path = "/api/v1/routing-rules"

    @Test func adminsWriteManagersReadAgentsNeither() async throws {
        try await APIHarness.run { h, c in
            let (_, agent) = try await h.user(c, role: "agent", name: "Ana")
            let (_, manager) = try await h.user(c, role: "manager", name: "Max")
            let body: JSONValue = ["name": "Triage", "kind": "fallback", "assign": ["queue": "triage"]]
            for token in [agent, manager] {
                #expect(try await h.call(c, .post, Self.path, token: token, body: body).status == .forbidden)
            }
            #expect(try await h.call(c, .get, Self.path, token: agent).status == .forbidden)
            #expect(try await h.call(c, .get, Self.path, token: nil).status == .unauthorized)

            let created = try await h.call(c, .post, Self.path, token: h.adminToken, body: body)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created["id"]?.stringValue)
            #expect(created["position"] == 10)  // after the last rule (there was none)
            #expect(created["active"] == true)
            #expect(created["open_lead"] == true)
            #expect(created["contact_owner"] == "if_unassigned")
            #expect(created["assign"] == ["queue": "triage"])
            #expect(created["values"] == [])

            for token in [agent, manager] {
                let r = try await h.call(c, .patch, Self.path + "/\(id)", token: token, body: ["active": false])
                #expect(r.status == .forbidden)
            }
            let listed = try await h.call(c, .get, Self.path, token: manager)
            #expect(listed.status == .ok)
            #expect(listed.items.compactMap { $0["id"]?.stringValue } == [id])
        }
    }

    @Test func validationListsEveryBadFieldAndTheCombination() async throws {
        try await APIHarness.run { h, c in
            let bad = try await h.call(
                c, .post, Self.path, token: h.adminToken,
                body: [
                    "name": "", "kind": "magic", "position": -1, "active": "yes", "values": "x",
                    "assign": ["queue": "q", "round_robin": "sales"], "contact_owner": "sometimes",
                    "open_lead": 1, "colour": "red",
                ])
            #expect(bad.status == .badRequest)
            #expect(bad["error"]?["code"] == "validation_failed")
            #expect(
                Set(bad.badFields)
                    == [
                        "name", "kind", "position", "active", "values", "assign", "contact_owner", "open_lead",
                        "colour",
                    ], "\(bad.text)")

            // Fields that read well, combined badly: each combination problem by its field.
            let combined = try await h.call(
                c, .post, Self.path, token: h.adminToken,
                body: ["name": "Sticky", "kind": "sticky_owner", "values": ["x"], "assign": ["queue": "q"]])
            #expect(combined.status == .badRequest)
            #expect(Set(combined.badFields) == ["values", "assign"], "\(combined.text)")
            let missing = try await h.call(
                c, .post, Self.path, token: h.adminToken, body: ["kind": "keyword", "assign": ["queue": "q"]])
            #expect(Set(missing.badFields) == ["name", "values"], "\(missing.text)")
            let numbers = try await h.call(
                c, .post, Self.path, token: h.adminToken,
                body: ["name": "N", "kind": "phone_number", "values": ["12a"], "assign": ["queue": "q"]])
            #expect(numbers.badFields == ["values"])
            #expect(try await h.call(c, .post, Self.path, token: h.adminToken, raw: "[1]").status == .badRequest)

            // A referenced owner must be an active user.
            let ghost = try await h.call(
                c, .post, Self.path, token: h.adminToken,
                body: ["name": "Ghost", "kind": "fallback", "assign": ["owner_id": .string(UUID().uuidString)]])
            #expect(ghost.status == .unprocessableContent)
            #expect(ghost["error"]?["code"] == "unknown_user")
            #expect(try await h.db.count("SELECT 1 FROM routing_rules") == 0)
            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE entity = 'routing_rule'") == 0)
        }
    }

    @Test func patchReordersAndDeactivatesIsAuditedAndConflictsAre409() async throws {
        try await APIHarness.run { h, c in
            let (vera, _) = try await h.user(c, role: "manager", name: "Vera")
            func create(_ body: JSONValue) async throws -> String {
                let r = try await h.call(c, .post, Self.path, token: h.adminToken, body: body)
                #expect(r.status == .created, "\(r.text)")
                return r["id"]?.stringValue ?? ""
            }
            let pricing = try await create([
                "name": "Pricing", "kind": "keyword", "values": ["preço"], "assign": ["round_robin": "sales"],
            ])
            let vip = try await create([
                "name": "VIP", "kind": "phone_number", "values": ["106540352242922"],
                "assign": ["owner_id": .string(vera.uuidString)], "contact_owner": "always",
            ])
            _ = try await create(["name": "Keep owners", "kind": "sticky_owner", "position": 1])
            #expect(try await h.db.count("SELECT 1 FROM routing_cursors WHERE department = 'sales'") == 1)

            // Evaluation order: position (the defaults were 10 and 20), then creation.
            var order = try await h.call(c, .get, Self.path, token: h.adminToken).items.compactMap {
                $0["name"]?.stringValue
            }
            #expect(order == ["Keep owners", "Pricing", "VIP"])
            let moved = try await h.call(
                c, .patch, Self.path + "/\(vip)", token: h.adminToken, body: ["position": 0, "active": false])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(moved["active"] == false)
            #expect(moved["assign"] == ["owner_id": .string(vera.uuidString)])  // absent fields keep
            order = try await h.call(c, .get, Self.path, token: h.adminToken).items.compactMap {
                $0["name"]?.stringValue
            }
            #expect(order == ["VIP", "Keep owners", "Pricing"])

            // Paging: one per page, in the same order.
            let first = try await h.call(c, .get, Self.path + "?limit=1", token: h.adminToken)
            let cursor = try #require(first["next_cursor"]?.stringValue)
            let second = try await h.call(c, .get, Self.path + "?limit=1&cursor=\(cursor)", token: h.adminToken)
            #expect(second.items.first?["name"] == "Keep owners")
            #expect(try await h.call(c, .get, Self.path + "?cursor=nope", token: h.adminToken).status == .badRequest)

            // The result of a PATCH is validated whole: a keyword rule cannot lose its words.
            let emptied = try await h.call(
                c, .patch, Self.path + "/\(pricing)", token: h.adminToken, body: ["values": []])
            #expect(emptied.badFields == ["values"])
            // Switching to "no lead" needs the target cleared in the same request.
            let noLead = try await h.call(
                c, .patch, Self.path + "/\(pricing)", token: h.adminToken, body: ["open_lead": false])
            #expect(noLead.badFields == ["assign"])
            let cleared = try await h.call(
                c, .patch, Self.path + "/\(pricing)", token: h.adminToken, body: ["open_lead": false, "assign": .null])
            #expect(cleared.status == .ok, "\(cleared.text)")
            #expect(cleared["assign"] == .null)

            // Conflicts: a taken name, a second sticky_owner rule.
            let taken = try await h.call(
                c, .patch, Self.path + "/\(pricing)", token: h.adminToken, body: ["name": "VIP"])
            #expect(taken.status == .conflict)
            let secondSticky = try await h.call(
                c, .post, Self.path, token: h.adminToken, body: ["name": "Sticky again", "kind": "sticky_owner"])
            #expect(secondSticky.status == .conflict)
            #expect(secondSticky["error"]?["message"]?.stringValue?.contains("sticky_owner") == true)
            #expect(
                try await h.call(c, .patch, Self.path + "/\(UUID())", token: h.adminToken, body: ["active": true])
                    .status == .notFound)
            #expect(try await h.call(c, .patch, Self.path + "/x", token: h.adminToken, body: [:]).status == .notFound)

            // Audited with the record before and after, by the admin.
            let audit = try await h.call(c, .get, "/api/v1/audit-log?entity=routing_rule", token: h.adminToken)
            let entries = audit.items
            #expect(entries.filter { $0["action"] == "create" }.count == 3)
            let updates = entries.filter { $0["action"] == "update" }
            #expect(updates.count == 2)
            let move = try #require(updates.first { $0["entity_id"]?.stringValue == vip.lowercased() })
            #expect(move["before"]?["position"] == 20)
            #expect(move["after"]?["position"] == 0)
            #expect(move["after"]?["active"] == false)
            #expect(Set(entries.compactMap { $0["actor"]?.stringValue }).count == 1)
        }
    }
}
