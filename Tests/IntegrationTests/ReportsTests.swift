import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Storage
import Testing
import WireModels

/// Reports and the message-log search on the real router and database. The data are the
/// test's own events, written through the same stores the services use (`StatusStore.ingest`
/// is the reporter's step, `MessageStore.insertOutbound` the sender's, `insertInbound` the
/// matcher's); every number is compared with a count made here from those events.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ReportsTests {
    static let logger = Logger(label: "reports-tests")

    @Test func deliveryFunnelEqualsAHandCountPerGroupUnderShuffledDuplicatedStatuses() async throws {
        try await APIHarness.run { h, c in
            let (agentA, tokenA) = try await h.user(c, role: "agent", name: "Ana")
            let (agentB, _) = try await h.user(c, role: "agent", name: "Bia")
            let (_, manager) = try await h.user(c, role: "manager", name: "Max")
            let contactA = try await Self.contact(h.db, waId: "5511987650001", owner: agentA)
            let contactB = try await Self.contact(h.db, waId: "5511987650002", owner: agentB)
            let unowned = try await Self.contact(h.db, waId: "5511987650003", owner: nil)
            let (camp1, camp2) = (UUID(), UUID())
            let t0 = Date().addingTimeInterval(-600)
            func st(_ status: String, _ seconds: Double, code: Int? = nil) -> (String, Date, Int?) {
                (status, t0.addingTimeInterval(seconds), code)
            }
            let specs = [
                Spec(
                    template: "welcome", campaign: camp1, contact: contactA, number: "PN1",
                    statuses: [st("sent", 1), st("delivered", 2), st("read", 3)], replies: 2),
                Spec(
                    template: "welcome", campaign: camp1, contact: contactA, number: "PN1",
                    statuses: [st("sent", 1), st("delivered", 2)]),
                Spec(
                    template: "welcome", campaign: camp1, contact: contactB, number: "PN1",
                    statuses: [st("sent", 1), st("failed", 2, code: 131049)], replies: 1),
                // Failed on one device, then delivered: delivery is proven, so it is not a failure.
                Spec(
                    template: "promo", campaign: camp2, contact: contactB, number: "PN2",
                    statuses: [st("failed", 1, code: 131026), st("delivered", 5)], replies: 1),
                Spec(
                    template: "promo", campaign: camp2, contact: unowned, number: "PN2",
                    statuses: [st("failed", 1, code: 131026)]),
                Spec(template: nil, campaign: nil, contact: contactA, number: "PN2", statuses: [st("sent", 1)]),
                Spec(template: "promo", campaign: nil, contact: contactA, number: "PN1", statuses: []),
                // Only `read` arrived: it implies delivered and sent.
                Spec(template: "welcome", campaign: camp1, contact: contactB, number: "PN2", statuses: [st("read", 4)]),
                // Its statuses arrive before the sender stores the message.
                Spec(
                    template: "welcome", campaign: camp2, contact: unowned, number: "PN1",
                    statuses: [st("sent", 1), st("delivered", 3)], early: true),
                // Outside the range: never counted.
                Spec(
                    template: "welcome", campaign: camp1, contact: contactA, number: "PN1",
                    statuses: [st("sent", 1), st("failed", 2, code: 131047)], replies: 1, createdDaysAgo: 2),
            ]
            // Seeded so that a failing order can be replayed (the seed is in the failure message).
            var rng = SplitMix64(seed: nil)
            try await Self.store(specs, db: h.db, rng: &rng)

            let since = RFC3339.string(from: Date().addingTimeInterval(-3600))
            let until = RFC3339.string(from: Date().addingTimeInterval(60))
            let inRange = specs.filter { $0.createdDaysAgo == 0 }
            let owners = [contactA: agentA, contactB: agentB]
            let keyOf: [(String, (Spec) -> String?)] = [
                ("template", { $0.template }), ("campaign", { $0.campaign?.uuidString.lowercased() }),
                ("owner", { owners[$0.contact]?.uuidString.lowercased() }), ("phone_number", { $0.number }),
            ]
            for (groupBy, key) in keyOf {
                let path = "/api/v1/reports/delivery?group_by=\(groupBy)&since=\(since)&until=\(until)"
                let reply = try await h.call(c, .get, path, token: manager)
                #expect(reply.status == .ok, "\(reply.text)")
                #expect(reply["group_by"]?.stringValue == groupBy)
                let expected = Counts.handCount(inRange, key: key)
                #expect(Counts.fromJSON(reply.items) == expected, "group_by=\(groupBy), seed \(rng.seed)")
                // The CSV export says the same.
                let csv = try await h.call(c, .get, path + "&format=csv", token: manager)
                #expect(csv.status == .ok)
                let records = CSVParser.records(csv.text)
                #expect(Counts.fromCSV(records) == expected, "csv group_by=\(groupBy)")
            }
            // A few numbers spelled out, so the hand count itself is checked too.
            let byCampaign = Counts.handCount(inRange) { $0.campaign?.uuidString.lowercased() }
            #expect(
                byCampaign[camp1.uuidString.lowercased()]
                    == Counts(
                        total: 4, accepted: 0, sent: 4, delivered: 3, read: 2, failed: 1, replied: 2,
                        errors: ["131049": 1]))
            #expect(
                byCampaign[camp2.uuidString.lowercased()]
                    == Counts(
                        total: 3, accepted: 0, sent: 2, delivered: 2, read: 0, failed: 1, replied: 1,
                        errors: ["131026": 1]))
            #expect(
                byCampaign[nil]
                    == Counts(total: 2, accepted: 1, sent: 1, delivered: 0, read: 0, failed: 0, replied: 0, errors: [:])
            )

            // Errors by code, as JSON and through Accept: text/csv.
            let errors = try await h.call(
                c, .get, "/api/v1/reports/errors?since=\(since)&until=\(until)", token: manager)
            #expect(errors.status == .ok, "\(errors.text)")
            let codes = errors.items.map { ($0["code"]?.stringValue ?? "-", $0["messages"]?.doubleValue ?? -1) }
            #expect(codes.map(\.0).sorted() == ["131026", "131049"])
            #expect(codes.allSatisfy { $0.1 == 1 })
            let errorsCSV = try await Self.get(
                c, "/api/v1/reports/errors?since=\(since)&until=\(until)", token: manager, accept: "text/csv")
            #expect(errorsCSV.contentType?.hasPrefix("text/csv") == true)
            let errorRows = CSVParser.records(errorsCSV.body)
            #expect(errorRows.map { $0["code"] ?? "" }.sorted() == ["131026", "131049"])
            #expect(errorRows.allSatisfy { $0["messages"] == "1" })

            // Roles: agents never read reports; admins do.
            for path in ["delivery", "errors", "response-times"] {
                let r = try await h.call(c, .get, "/api/v1/reports/\(path)", token: tokenA)
                #expect(r.status == .forbidden, "\(path)")
                #expect(try await h.call(c, .get, "/api/v1/reports/\(path)", token: h.adminToken).status == .ok)
            }
            // Every bad parameter in one answer.
            let bad = try await h.call(
                c, .get, "/api/v1/reports/delivery?group_by=colour&since=yesterday&format=xml", token: manager)
            #expect(bad.status == .badRequest)
            #expect(Set(bad.badFields) == ["group_by", "since", "format"])
            let backwards = try await h.call(
                c, .get, "/api/v1/reports/delivery?since=\(until)&until=\(since)", token: manager)
            #expect(backwards.badFields == ["since"])
            // A range longer than a year is refused, not scanned.
            let wide = try await h.call(
                c, .get, "/api/v1/reports/errors?since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", token: manager)
            #expect(wide.badFields == ["since"], "\(wide.text)")
            #expect(wide.text.contains("at most 366 days"))
            #expect(
                try await h.call(c, .get, "/api/v1/reports/errors?group_by=owner", token: manager).badFields
                    == ["group_by"])
        }
    }

    @Test func responseTimesPerOwnerHaveTheP50AndP90OfKnownConversations() async throws {
        try await APIHarness.run { h, c in
            let (agentA, _) = try await h.user(c, role: "agent", name: "Ana")
            let (agentB, _) = try await h.user(c, role: "agent", name: "Bia")
            let (_, manager) = try await h.user(c, role: "manager", name: "Max")
            // Whole seconds, so the stored times differ by exactly the planned delays.
            let opened = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 7200).rounded())
            // Seconds to the first response; nil = not answered. The last one opened long ago.
            let plan: [(UUID?, [Double?])] = [
                (agentA, [10, 20, 30, 40, 100, nil]), (agentB, [60]), (nil, [5, 15]),
            ]
            var n = 0
            for (owner, delays) in plan {
                for delay in delays {
                    n += 1
                    let contact = try await Self.contact(
                        h.db, waId: "55119876510" + (n < 10 ? "0\(n)" : "\(n)"), owner: owner)
                    try await Self.conversation(h.db, contact: contact, opened: opened, responseAfter: delay)
                }
            }
            let old = try await Self.contact(h.db, waId: "5511987651099", owner: agentB)
            try await Self.conversation(
                h.db, contact: old, opened: Date().addingTimeInterval(-86400 * 3), responseAfter: 1)

            let since = RFC3339.string(from: Date().addingTimeInterval(-86400))
            let path = "/api/v1/reports/response-times?group_by=owner&since=\(since)"
            let reply = try await h.call(c, .get, path, token: manager)
            #expect(reply.status == .ok, "\(reply.text)")
            var got: [String: (Int, Int, Double?, Double?)] = [:]
            for item in reply.items {
                got[item["key"]?.stringValue ?? "none"] = (
                    Int(item["conversations"]?.doubleValue ?? -1), Int(item["answered"]?.doubleValue ?? -1),
                    item["p50_seconds"]?.doubleValue, item["p90_seconds"]?.doubleValue
                )
            }
            for (owner, delays) in plan {
                let key = owner?.uuidString.lowercased() ?? "none"
                let answered = delays.compactMap { $0 }
                let row = try #require(got[key], "owner \(key) in \(reply.text)")
                #expect(row.0 == delays.count)
                #expect(row.1 == answered.count)
                #expect(abs((row.2 ?? -1) - Self.percentile(answered, 0.5)) < 0.001)
                #expect(abs((row.3 ?? -1) - Self.percentile(answered, 0.9)) < 0.001)
            }
            #expect(got.count == 3)
            // Spelled out for agent A: 10, 20, 30, 40, 100 → p50 30, p90 40 + 0.6 × 60 = 76.
            #expect(abs((got[agentA.uuidString.lowercased()]?.2 ?? 0) - 30) < 0.001)
            #expect(abs((got[agentA.uuidString.lowercased()]?.3 ?? 0) - 76) < 0.001)

            let csv = CSVParser.records(try await h.call(c, .get, path + "&format=csv", token: manager).text)
            #expect(csv.count == 3)
            for record in csv {
                let key = record["key"].flatMap { $0.isEmpty ? nil : $0 } ?? "none"
                let row = try #require(got[key])
                #expect(Int(record["conversations"] ?? "") == row.0)
                #expect(Int(record["answered"] ?? "") == row.1)
                #expect(Double(record["p50_seconds"] ?? "") == row.2)
                #expect(Double(record["p90_seconds"] ?? "") == row.3)
            }
            #expect(
                try await h.call(c, .get, "/api/v1/reports/response-times?group_by=template", token: manager)
                    .badFields == ["group_by"])
        }
    }

    @Test func messageLogFiltersEachScopesAgentsAndExportsCSV() async throws {
        try await APIHarness.run { h, c in
            let (agentA, tokenA) = try await h.user(c, role: "agent", name: "Ana")
            let (agentB, _) = try await h.user(c, role: "agent", name: "Bia")
            let (_, manager) = try await h.user(c, role: "manager", name: "Max")
            // Contact A's number typed as a Brazilian mobile without the 9th digit must still find it.
            let contactA = try await Self.contact(h.db, waId: "5511987654321", owner: agentA)
            let contactB = try await Self.contact(h.db, waId: "5511987654322", owner: agentB)
            let campaign = UUID()
            let tricky = "Olá, \"Ana\"\nsegunda linha"
            let t0 = Date().addingTimeInterval(-600)
            let out1 = "wamid.L1-" + UUID().uuidString
            let out2 = "wamid.L2-" + UUID().uuidString
            let out3 = "wamid.L3-" + UUID().uuidString
            let in1 = "wamid.L4-" + UUID().uuidString
            let in2 = "wamid.L5-" + UUID().uuidString
            let old = "wamid.L6-" + UUID().uuidString
            let logger = Self.logger
            try await h.db.client.withTransaction(logger: logger) { conn in
                try await MessageStore.insertOutbound(
                    [
                        MessageStore.Outbound(
                            wamid: out1, contactId: contactA, phoneNumberId: "PN1", toWaId: "5511987654321",
                            type: "template",
                            text: tricky, sendRequestId: "r1", template: "welcome", campaignId: campaign.uuidString)
                    ], on: conn, logger: logger)
                try await MessageStore.insertOutbound(
                    [
                        MessageStore.Outbound(
                            wamid: out2, contactId: contactB, phoneNumberId: "PN1", toWaId: "5511987654322",
                            type: "template",
                            text: "promo", sendRequestId: "r2", template: "promo")
                    ], on: conn, logger: logger)
                try await MessageStore.insertOutbound(
                    [
                        MessageStore.Outbound(
                            wamid: out3, contactId: contactA, phoneNumberId: "PN2", toWaId: "5511987654321",
                            type: "text",
                            text: "hello", sendRequestId: "r3")
                    ], on: conn, logger: logger)
                try await MessageStore.insertInbound(
                    CRMFixtures.message(in1, from: "5511987654321", text: "oi", contextId: out1), contactId: contactA,
                    on: conn, logger: logger)
                try await MessageStore.insertInbound(
                    CRMFixtures.message(in2, from: "5511987654322", text: "bom dia"), contactId: contactB, on: conn,
                    logger: logger)
                try await MessageStore.insertOutbound(
                    [
                        MessageStore.Outbound(
                            wamid: old, contactId: contactA, phoneNumberId: "PN1", toWaId: "5511987654321",
                            type: "text",
                            text: "old", sendRequestId: "r4")
                    ], on: conn, logger: logger)
            }
            try await h.db.client.query(
                "UPDATE messages SET created_at = now() - interval '10 days' WHERE wamid = \(old)")
            let events = [
                Self.status(out1, "delivered", t0.addingTimeInterval(2)),
                Self.status(out1, "sent", t0.addingTimeInterval(1)),
                Self.status(out2, "failed", t0.addingTimeInterval(3), code: 131026),
                Self.status(out3, "sent", t0.addingTimeInterval(1)),
            ]
            for s in events + events {
                try await h.db.client.withTransaction(logger: logger) { conn in
                    _ = try await StatusStore.ingest(s, on: conn, logger: logger)
                }
            }
            // 520 more messages, so the CSV export takes two pages of its stream.
            try await h.db.client.query(
                """
                INSERT INTO messages (wamid, direction, contact_id, phone_number_id, type, text, template, status)
                SELECT 'wamid.bulk' || i, 'outbound', NULL, 'PN9', 'template', 'bulk ' || i, 'bulk', 'accepted'
                FROM generate_series(1, 520) i
                """)

            func wamids(_ query: String, token: String? = nil) async throws -> Set<String> {
                let r = try await h.call(c, .get, "/api/v1/messages?limit=500&" + query, token: token ?? manager)
                #expect(r.status == .ok, "\(query): \(r.text)")
                return Set(r.items.compactMap { $0["wamid"]?.stringValue }.filter { !$0.hasPrefix("wamid.bulk") })
            }
            let recentSince = RFC3339.string(from: Date().addingTimeInterval(-86400))
            #expect(try await wamids("contact_id=\(contactA)") == [out1, out3, in1, old])
            // Any typed form of the number: E.164 with spaces, digits only, without the 9th digit.
            for phone in ["%2B55%2011%2098765-4321", "5511987654321", "%2B55%2011%208765-4321"] {
                #expect(try await wamids("phone=\(phone)") == [out1, out3, in1, old], "phone=\(phone)")
            }
            #expect(try await wamids("direction=inbound") == [in1, in2])
            #expect(try await wamids("direction=outbound&contact_id=\(contactB)") == [out2])
            #expect(try await wamids("status=delivered") == [out1])
            #expect(try await wamids("status=failed") == [out2])
            #expect(try await wamids("template=welcome") == [out1])
            #expect(try await wamids("campaign_id=\(campaign)") == [out1])
            #expect(try await wamids("since=\(recentSince)&contact_id=\(contactA)") == [out1, out3, in1])
            #expect(try await wamids("until=\(recentSince)") == [old])

            // Each item has the contract fields and its full status history, in time order.
            let one = try await h.call(c, .get, "/api/v1/messages?template=welcome", token: manager)
            let item = try #require(one.items.first)
            #expect(item["wamid"]?.stringValue == out1)
            #expect(item["direction"] == "outbound")
            #expect(item["contact_id"]?.stringValue?.lowercased() == contactA.uuidString.lowercased())
            #expect(item["campaign_id"]?.stringValue?.lowercased() == campaign.uuidString.lowercased())
            #expect(item["status"] == "delivered")
            #expect(item["text"]?.stringValue == tricky)
            #expect(
                item["status_history"]?.arrayValue.compactMap { $0["status"]?.stringValue } == ["sent", "delivered"])
            let failed = try #require(
                try await h.call(c, .get, "/api/v1/messages?status=failed", token: manager).items.first)
            #expect(failed["status_history"]?.arrayValue.first?["error_code"]?.doubleValue == 131026)
            #expect(failed["error"]?["code"]?.doubleValue == 131026)

            // Cursor paging walks everything once, newest first (the 520 share one created_at).
            var everything: [String] = []
            var times: [Date] = []
            var cursor: String?
            repeat {
                let page = try await h.call(
                    c, .get, "/api/v1/messages?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""), token: manager)
                everything += page.items.compactMap { $0["wamid"]?.stringValue }
                times += page.items.compactMap { $0["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(everything.count == 526)
            #expect(Set(everything).count == 526)
            #expect(times == times.sorted(by: >))

            // Agents: only their contacts' messages, whatever the filter.
            #expect(try await wamids("", token: tokenA) == [out1, out3, in1, old])
            #expect(try await wamids("contact_id=\(contactB)", token: tokenA).isEmpty)
            #expect(try await wamids("direction=inbound", token: tokenA) == [in1])
            let agentAll = try await h.call(c, .get, "/api/v1/messages?limit=500", token: tokenA)
            #expect(agentAll.items.count == 4)

            // CSV: every match (two stream pages), RFC 4180 quoting that parses back to the JSON.
            let csv = try await h.call(c, .get, "/api/v1/messages?format=csv", token: manager)
            #expect(csv.status == .ok)
            let records = CSVParser.records(csv.text)
            #expect(records.map { $0["wamid"] ?? "" } == everything)
            let csvOne = try #require(records.first { $0["wamid"] == out1 })
            #expect(csvOne["text"] == tricky)
            #expect(csvOne["status"] == "delivered")
            #expect(csvOne["campaign_id"] == campaign.uuidString.lowercased())
            #expect(
                csvOne["status_history"]?.split(separator: " ").map { item in String(item.prefix { $0 != "@" }) }
                    == ["sent", "delivered"])
            #expect(records.first { $0["wamid"] == out2 }?["error_code"] == "131026")
            let agentCSV = try await Self.get(c, "/api/v1/messages", token: tokenA, accept: "text/csv")
            let agentRecords = CSVParser.records(agentCSV.body)
            #expect(Set(agentRecords.map { $0["wamid"] ?? "" }) == [out1, out3, in1, old])

            // The harness caps an export at 600 messages: past it, a 400 before any byte is
            // streamed; a narrower export still goes.
            try await h.db.client.query(
                """
                INSERT INTO messages (wamid, direction, type, counterpart_wa_id)
                SELECT 'wamid.bulk-' || g, 'inbound', 'text', '5511900000999' FROM generate_series(1, 80) g
                """)
            let tooBig = try await h.call(c, .get, "/api/v1/messages?format=csv", token: manager)
            #expect(tooBig.status == .badRequest, "\(tooBig.text.prefix(200))")
            #expect(tooBig.json?["error"]?["code"]?.stringValue == "export_too_large")
            #expect(
                try await h.call(c, .get, "/api/v1/messages?format=csv&direction=outbound", token: manager).status
                    == .ok)

            // Every bad parameter in one answer.
            let bad = try await h.call(
                c, .get,
                "/api/v1/messages?phone=abc&direction=sideways&status=lost&contact_id=x&cursor=nope&format=pdf",
                token: manager)
            #expect(bad.status == .badRequest)
            #expect(Set(bad.badFields) == ["phone", "direction", "status", "contact_id", "cursor", "format"])
        }
    }

    @Test func tasksPastDuePerOwnerAndPerTaskEqualAHandCountAtAsOf() async throws {
        try await APIHarness.run { h, c in
            let (agentA, tokenA) = try await h.user(c, role: "agent", name: "Ana")
            let (agentB, _) = try await h.user(c, role: "agent", name: "Bia")
            let (agentC, _) = try await h.user(c, role: "agent", name: "Cid")
            let (_, manager) = try await h.user(c, role: "manager", name: "Max")
            let contactA = try await Self.contact(h.db, waId: "5511987652001", owner: agentA)
            let contactB = try await Self.contact(h.db, waId: "5511987652002", owner: agentB)
            let unowned = try await Self.contact(h.db, waId: "5511987652003", owner: nil)
            // Whole seconds, so every overdue age is exactly the planned offset.
            let asOf = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let tricky = "Ligar, \"urgente\"\nhoje"
            let plan = [
                PastDueSpec(owner: agentA, contact: contactA, due: -3600, status: "open"),
                PastDueSpec(owner: agentA, contact: contactA, due: -172_800, status: "open", kind: "follow_up"),
                PastDueSpec(owner: agentA, contact: contactA, due: -60, status: "open", title: tricky),
                PastDueSpec(owner: agentA, contact: contactA, due: 3600, status: "open"),  // not yet due
                PastDueSpec(owner: agentA, contact: contactA, due: 0, status: "open"),  // due at as_of: not before it
                PastDueSpec(owner: agentA, contact: contactA, due: -7200, status: "done"),
                PastDueSpec(owner: agentA, contact: contactA, due: nil, status: "open"),  // no due time
                PastDueSpec(owner: agentB, contact: contactB, due: -120, status: "open"),
                PastDueSpec(owner: agentB, contact: contactB, due: -90_000, status: "cancelled"),
                PastDueSpec(owner: agentB, contact: contactB, due: 600, status: "open"),
                // Agent C's overdue tasks are all closed: no row for C.
                PastDueSpec(owner: agentC, contact: contactB, due: -5000, status: "done"),
                PastDueSpec(owner: agentC, contact: contactB, due: -4000, status: "cancelled"),
                PastDueSpec(owner: nil, contact: unowned, due: -300, status: "open"),
                PastDueSpec(owner: nil, contact: unowned, due: -50_000, status: "open", kind: "escalation"),
            ]
            let ids = try await Self.store(plan, asOf: asOf, db: h.db)

            let base = "/api/v1/reports/tasks-past-due"
            let at = RFC3339.string(from: asOf)
            let reply = try await h.call(c, .get, base + "?as_of=\(at)", token: manager)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply["report"] == "tasks-past-due")
            #expect(reply["group_by"] == "owner")
            #expect(reply["as_of"]?.stringValue.flatMap(RFC3339.date(from:)) == asOf)
            #expect(reply["since"] == nil && reply["until"] == nil)
            let byOwner = PastDueOwner.fromJSON(reply.items)
            #expect(byOwner == PastDueOwner.handCount(plan, asOf: asOf, shift: 0), "\(reply.text)")
            // The hand count spelled out: A 3 (oldest 2 days), unowned 2 (oldest 50,000 s), B 1; no C.
            let (a, b) = (agentA.uuidString.lowercased(), agentB.uuidString.lowercased())
            #expect(
                byOwner == [
                    PastDueOwner(key: a, tasks: 3, oldestDueAt: asOf.addingTimeInterval(-172_800), seconds: 172_800),
                    PastDueOwner(key: nil, tasks: 2, oldestDueAt: asOf.addingTimeInterval(-50_000), seconds: 50_000),
                    PastDueOwner(key: b, tasks: 1, oldestDueAt: asOf.addingTimeInterval(-120), seconds: 120),
                ])

            // The same as CSV (?format=csv), in the same order.
            let csv = try await h.call(c, .get, base + "?as_of=\(at)&format=csv", token: manager)
            #expect(csv.status == .ok)
            #expect(PastDueOwner.fromCSV(CSVParser.records(csv.text)) == byOwner, "\(csv.text)")

            // One line per task, the longest overdue first, as JSON and through Accept: text/csv.
            let detail = try await h.call(c, .get, base + "?as_of=\(at)&group_by=task", token: manager)
            #expect(detail.status == .ok, "\(detail.text)")
            #expect(detail["group_by"] == "task")
            let overdue = plan.indices.filter { plan[$0].isPastDue(shift: 0) }.sorted { plan[$0].due! < plan[$1].due! }
            #expect(overdue.count == 6)
            #expect(
                detail.items.compactMap { $0["id"]?.stringValue } == overdue.map { ids[$0].uuidString.lowercased() })
            for (item, i) in zip(detail.items, overdue) {
                let spec = plan[i]
                #expect(item["title"]?.stringValue == spec.title)
                #expect(item["kind"]?.stringValue == spec.kind)
                #expect(item["owner_id"]?.stringValue == spec.owner?.uuidString.lowercased())
                #expect(item["owner_id"] != nil)  // null, not missing, for unowned tasks
                #expect(item["contact_id"]?.stringValue == spec.contact.uuidString.lowercased())
                #expect(item["due_at"]?.stringValue.flatMap(RFC3339.date(from:)) == spec.dueAt(asOf))
                #expect(item["overdue_seconds"]?.doubleValue == -Double(spec.due!))
            }
            let detailCSV = try await Self.get(
                c, base + "?as_of=\(at)&group_by=task", token: manager, accept: "text/csv")
            #expect(detailCSV.contentType?.hasPrefix("text/csv") == true)
            let records = CSVParser.records(detailCSV.body)
            #expect(records.map { $0["id"] ?? "" } == overdue.map { ids[$0].uuidString.lowercased() })
            #expect(records.map { $0["title"] ?? "" } == overdue.map { plan[$0].title })  // the quoted title too
            #expect(records.map { Double($0["overdue_seconds"] ?? "") } == overdue.map { -Double(plan[$0].due!) })
            #expect(
                records.map { $0["owner_id"] ?? "-" } == overdue.map { plan[$0].owner?.uuidString.lowercased() ?? "" })

            // as_of moves the cut-off: half an hour later the due-at-as_of task and B's +600 s one are
            // past due too; a day earlier only A's two-day-old one.
            for shift in [1800, -86_400] {
                let later = RFC3339.string(from: asOf.addingTimeInterval(Double(shift)))
                let r = try await h.call(c, .get, base + "?as_of=\(later)", token: manager)
                #expect(r.status == .ok, "\(r.text)")
                let expected = PastDueOwner.handCount(plan, asOf: asOf, shift: shift)
                #expect(PastDueOwner.fromJSON(r.items) == expected, "shift \(shift): \(r.text)")
            }
            #expect(PastDueOwner.handCount(plan, asOf: asOf, shift: 1800).map(\.tasks) == [4, 2, 2])
            #expect(PastDueOwner.handCount(plan, asOf: asOf, shift: -86_400).map(\.tasks) == [1])
            // Without as_of: now, a few seconds after as_of (so the due-at-as_of task counts, B's +600 s not).
            let now = try await h.call(c, .get, base, token: manager)
            #expect(now.items.map { Int($0["tasks"]?.doubleValue ?? -1) } == [4, 2, 1], "\(now.text)")

            // Roles: agents never read reports; admins do.
            #expect(try await h.call(c, .get, base, token: tokenA).status == .forbidden)
            #expect(try await h.call(c, .get, base + "?group_by=task", token: tokenA).status == .forbidden)
            #expect(try await h.call(c, .get, base, token: h.adminToken).status == .ok)
            // Every bad parameter in one answer; a range is refused (this report looks at one moment).
            let bad = try await h.call(
                c, .get, base + "?as_of=yesterday&group_by=template&since=\(at)&until=\(at)&format=xml",
                token: manager)
            #expect(bad.status == .badRequest)
            #expect(Set(bad.badFields) == ["as_of", "group_by", "since", "until", "format"])
        }
    }

    // MARK: - Data

    struct Spec {
        var wamid = "wamid.R-" + UUID().uuidString
        var template: String?
        var campaign: UUID?
        var contact: UUID
        var number: String
        var statuses: [(String, Date, Int?)]
        var replies = 0
        var early = false
        var createdDaysAgo = 0
    }

    /// The funnel of one group, as the API defines it, counted from the specs' own events.
    struct Counts: Equatable {
        var total = 0, accepted = 0, sent = 0, delivered = 0, read = 0, failed = 0, replied = 0
        var errors: [String: Int] = [:]

        static func handCount(_ specs: [Spec], key: (Spec) -> String?) -> [String?: Counts] {
            var out: [String?: Counts] = [:]
            for s in specs {
                let seen = Set(s.statuses.map(\.0))
                var c = out[key(s)] ?? Counts()
                let delivered = !seen.isDisjoint(with: ["delivered", "read"])
                c.total += 1
                c.accepted += seen.isEmpty ? 1 : 0
                c.sent += !seen.isDisjoint(with: ["sent", "delivered", "read"]) ? 1 : 0
                c.delivered += delivered ? 1 : 0
                c.read += seen.contains("read") ? 1 : 0
                if seen.contains("failed") && !delivered {
                    c.failed += 1
                    let code = s.statuses.first { $0.0 == "failed" }?.2.map(String.init) ?? "unknown"
                    c.errors[code, default: 0] += 1
                }
                c.replied += s.replies > 0 ? 1 : 0
                out[key(s)] = c
            }
            return out
        }

        static func fromJSON(_ items: [JSONValue]) -> [String?: Counts] {
            var out: [String?: Counts] = [:]
            for item in items {
                func n(_ k: String) -> Int { Int(item[k]?.doubleValue ?? -1) }
                var errors: [String: Int] = [:]
                if case .object(let o)? = item["errors_by_code"] {
                    for (code, v) in o { errors[code] = Int(v.doubleValue ?? -1) }
                }
                out[item["key"]?.stringValue] = Counts(
                    total: n("total"), accepted: n("accepted"), sent: n("sent"), delivered: n("delivered"),
                    read: n("read"), failed: n("failed"), replied: n("replied"), errors: errors)
            }
            return out
        }

        static func fromCSV(_ records: [[String: String]]) -> [String?: Counts] {
            var out: [String?: Counts] = [:]
            for r in records {
                func n(_ k: String) -> Int { Int(r[k] ?? "") ?? -1 }
                var errors: [String: Int] = [:]
                for pair in (r["errors_by_code"] ?? "").split(separator: " ") {
                    let parts = pair.split(separator: "=")
                    if parts.count == 2 { errors[String(parts[0])] = Int(parts[1]) ?? -1 }
                }
                let key = r["key"].flatMap { $0.isEmpty ? nil : $0 }
                out[key] = Counts(
                    total: n("total"), accepted: n("accepted"), sent: n("sent"), delivered: n("delivered"),
                    read: n("read"), failed: n("failed"), replied: n("replied"), errors: errors)
            }
            return out
        }
    }

    /// Stores the specs as the services would: early statuses first, then the messages (the
    /// sender replays early history), then every status twice, shuffled, in small batches (the
    /// reporter), and the customers' replies quoting the messages (the matcher).
    static func store(_ specs: [Spec], db: TestDatabase, rng: inout SplitMix64) async throws {
        let logger = Self.logger
        func events(_ s: Spec) -> [StatusUpdate] {
            s.statuses.map { status(s.wamid, $0.0, $0.1, code: $0.2) }
        }
        func ingest(_ batch: [StatusUpdate]) async throws {
            try await db.client.withTransaction(logger: logger) { conn in
                for e in batch { try await StatusStore.ingest(e, on: conn, logger: logger) }
            }
        }
        for s in specs where s.early { try await ingest(events(s) + events(s)) }
        for s in specs {
            try await db.client.withTransaction(logger: logger) { conn in
                try await MessageStore.insertOutbound(
                    [
                        MessageStore.Outbound(
                            wamid: s.wamid, contactId: s.contact, phoneNumberId: s.number, toWaId: "5511900000000",
                            type: s.template == nil ? "text" : "template", text: "hi", sendRequestId: "req-" + s.wamid,
                            template: s.template, campaignId: s.campaign?.uuidString)
                    ], on: conn, logger: logger)
            }
            if s.createdDaysAgo > 0 {
                try await db.client.query(
                    "UPDATE messages SET created_at = now() - \(s.createdDaysAgo) * interval '1 day' WHERE wamid = \(s.wamid)"
                )
            }
        }
        var all = specs.flatMap { events($0) + events($0) }
        all.shuffle(using: &rng)
        var i = 0
        while i < all.count {
            let size = Int.random(in: 1...4, using: &rng)
            try await ingest(Array(all[i..<min(i + size, all.count)]))
            i += size
        }
        for s in specs {
            for r in 0..<s.replies {
                let reply = CRMFixtures.message(
                    "wamid.reply-\(r)-" + UUID().uuidString, from: "5511900000000", text: "quero", contextId: s.wamid)
                try await db.client.withTransaction(logger: logger) { conn in
                    _ = try await MessageStore.insertInbound(reply, contactId: s.contact, on: conn, logger: logger)
                }
            }
        }
        // An inbound message quoting nothing is no reply to anything.
        try await db.client.withTransaction(logger: logger) { conn in
            _ = try await MessageStore.insertInbound(
                CRMFixtures.message(from: "5511900000000"), contactId: specs[0].contact, on: conn, logger: logger)
        }
    }

    /// A task of the past-due test: `due` in seconds from the test's `as_of` (nil: no due time).
    struct PastDueSpec {
        var owner: UUID?
        var contact: UUID
        var due: Int?
        var status: String
        var kind = "task"
        var title = "task " + UUID().uuidString.prefix(8)

        func dueAt(_ asOf: Date) -> Date? { due.map { asOf.addingTimeInterval(Double($0)) } }
        /// Open and due before `as_of + shift`.
        func isPastDue(shift: Int) -> Bool { status == "open" && due.map { $0 < shift } == true }
    }

    /// One owner's line of the past-due report.
    struct PastDueOwner: Equatable {
        var key: String?
        var tasks: Int
        var oldestDueAt: Date?
        var seconds: Double?

        /// Per owner, as the API defines it, counted from the plan, in the API's order (most
        /// tasks first, then owner id, unowned last), for `as_of = asOf + shift`.
        static func handCount(_ plan: [PastDueSpec], asOf: Date, shift: Int) -> [PastDueOwner] {
            var groups: [String?: [Int]] = [:]
            for s in plan where s.isPastDue(shift: shift) {
                groups[s.owner?.uuidString.lowercased(), default: []].append(s.due!)
            }
            return groups.map { key, dues in
                let oldest = dues.min()!
                return PastDueOwner(
                    key: key, tasks: dues.count, oldestDueAt: asOf.addingTimeInterval(Double(oldest)),
                    seconds: Double(shift - oldest))
            }
            .sorted { l, r in
                if l.tasks != r.tasks { return l.tasks > r.tasks }
                switch (l.key, r.key) {
                case (let x?, let y?): return x < y
                case (nil, _): return false
                case (_, nil): return true
                }
            }
        }

        static func fromJSON(_ items: [JSONValue]) -> [PastDueOwner] {
            items.map {
                PastDueOwner(
                    key: $0["key"]?.stringValue, tasks: Int($0["tasks"]?.doubleValue ?? -1),
                    oldestDueAt: $0["oldest_due_at"]?.stringValue.flatMap(RFC3339.date(from:)),
                    seconds: $0["oldest_overdue_seconds"]?.doubleValue)
            }
        }

        static func fromCSV(_ records: [[String: String]]) -> [PastDueOwner] {
            records.map {
                PastDueOwner(
                    key: $0["key"].flatMap { $0.isEmpty ? nil : $0 }, tasks: Int($0["tasks"] ?? "") ?? -1,
                    oldestDueAt: $0["oldest_due_at"].flatMap(RFC3339.date(from:)),
                    seconds: $0["oldest_overdue_seconds"].flatMap(Double.init))
            }
        }
    }

    /// Creates the plan's tasks through `TaskStore` (as the tasks API does), then closes the
    /// done and cancelled ones the same way; returns the task ids in plan order.
    static func store(_ plan: [PastDueSpec], asOf: Date, db: TestDatabase) async throws -> [UUID] {
        let logger = Self.logger
        var ids: [UUID] = []
        for spec in plan {
            let id = try await db.client.withTransaction(logger: logger) { conn in
                let task = try #require(
                    try await TaskStore.create(
                        NewTask(
                            contactId: spec.contact, ownerId: spec.owner, title: spec.title, kind: spec.kind,
                            dueAt: spec.dueAt(asOf), createdBy: "test"), on: conn, logger: logger))
                if spec.status != "open" {
                    _ = try await TaskStore.update(
                        id: task.id, title: task.title, dueAt: task.dueAt, status: spec.status, ownerId: task.ownerId,
                        on: conn, logger: logger)
                }
                return task.id
            }
            ids.append(id)
        }
        return ids
    }

    static func status(_ wamid: String, _ status: String, _ at: Date, code: Int? = nil) -> StatusUpdate {
        StatusUpdate(
            wamid: wamid, status: status, timestamp: at, recipientId: "5511900000000", wabaId: "100000000000001",
            phoneNumberId: "PN1", bizOpaqueCallbackData: nil,
            errors: code.map { [WhatsAppError(code: $0, title: "error \($0)", message: nil, details: nil)] } ?? [],
            conversation: nil, pricing: nil)
    }

    static func contact(_ db: TestDatabase, waId: String, owner: UUID?) async throws -> UUID {
        let key = ContactMatchKey(waId: waId)
        let rows = try await db.client.query(
            """
            INSERT INTO contacts (phone, wa_id, match_key, owner_id) VALUES (\(key.phone), \(waId), \(key.key), \(owner))
            RETURNING id
            """)
        for try await id in rows.decode(UUID.self) { return id }
        throw StorageError.invalid("no contact")
    }

    static func conversation(_ db: TestDatabase, contact: UUID, opened: Date, responseAfter: Double?) async throws {
        let response = responseAfter.map { opened.addingTimeInterval($0) }
        try await db.client.query(
            """
            INSERT INTO conversations (contact_id, phone_number_id, opened_at, last_inbound_at, first_response_at,
                                       closed_at)
            VALUES (\(contact), 'PN1', \(opened), \(opened), \(response), \(opened.addingTimeInterval(3600)))
            """)
    }

    /// Linear interpolation between closest ranks, as PostgreSQL's percentile_cont.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (position - Double(lower)) * (sorted[upper] - sorted[lower])
    }

    /// A GET with an `Accept` header (the harness sends JSON only).
    static func get(_ client: any TestClientProtocol, _ path: String, token: String, accept: String) async throws
        -> (body: String, contentType: String?)
    {
        let response = try await client.execute(
            uri: path, method: .get, headers: [.authorization: "Bearer \(token)", .accept: accept], body: nil)
        #expect(response.status == .ok, "\(path)")
        return (String(buffer: response.body), response.headers[.contentType])
    }
}
