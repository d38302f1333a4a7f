import Foundation
import Logging
import MatcherService
import PostgresNIO
import Storage
import Testing
import WireModels

private typealias F = CRMFixtures

/// The matcher's batched common case (`InboundTouches`) against the message-by-message way:
/// the same messages in one batch or one batch each leave the same leads, conversations,
/// consent and activity, including a keyword and an idle gap in the middle of a batch.
@Suite(.timeLimit(.minutes(2)))
struct InboundTouchesTests {
    static let t0 = Date(timeIntervalSince1970: 1_764_090_000)

    /// Two customers; after their first messages (which open lead and conversation) come
    /// plain follow-ups, a STOP, an enquiry after the STOP, and a message after a 30-hour gap.
    static func messages() -> [InboundMessage] {
        let at = { (seconds: Double) in t0.addingTimeInterval(seconds) }
        return [
            F.message("wamid.A1", from: "5511977770001", name: "Ana", text: "Oi, quero um orçamento", at: at(0)),
            F.message("wamid.B1", from: "447911000001", name: "Bob", text: "Hello", at: at(5)),
            F.message("wamid.A2", from: "5511977770001", text: "para amanhã", at: at(60)),
            F.message("wamid.B2", from: "447911000001", text: "price?", at: at(65)),
            F.message("wamid.A3", from: "5511977770001", type: "reaction", at: at(70)),
            F.message("wamid.B3", from: "447911000001", text: "STOP", at: at(120)),
            F.message("wamid.B4", from: "447911000001", text: "actually one more question", at: at(180)),
            F.message("wamid.A4", from: "5511977770001", text: "still there?", at: at(30 * 3600)),
            F.message("wamid.A5", from: "5511977770001", text: "hello?", at: at(30 * 3600 + 60)),
        ]
    }

    /// What the CRM tables hold, in a form that does not depend on generated ids.
    static func state(_ db: TestDatabase) async throws -> [String] {
        var out: [String] = []
        let queries = [
            """
            SELECT c.phone || ' lead ' || l.status || ' ' || to_char(l.opened_at, 'HH24:MI:SS') || '→'
                   || to_char(l.last_activity_at, 'DD HH24:MI:SS')
            FROM leads l JOIN contacts c ON c.id = l.contact_id ORDER BY 1
            """,
            """
            SELECT c.phone || ' conversation ' || v.opened_by_wamid || ' last ' || to_char(v.last_inbound_at, 'DD HH24:MI:SS')
                   || ' closed ' || coalesce(to_char(v.closed_at, 'DD HH24:MI:SS'), '-')
                   || ' lead ' || (v.lead_id IS NOT NULL)::text
            FROM conversations v JOIN contacts c ON c.id = v.contact_id ORDER BY 1
            """,
            "SELECT c.phone || ' opted_out ' || c.opted_out::text || ' v' || c.version FROM contacts c ORDER BY 1",
            "SELECT kind || ' ' || count(*) FROM crm_activity GROUP BY kind ORDER BY 1",
            "SELECT wamid || ' ' || opted_out::text FROM consent_ledger ORDER BY 1",
        ]
        for sql in queries {
            for try await line in try await db.client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
                out.append(line)
            }
        }
        return out
    }

    @Test func oneBatchLeavesWhatOneMessageAtATimeLeaves() async throws {
        let batched = try await F.migrated()
        defer { batched.close() }
        let single = try await F.migrated()
        defer { single.close() }
        try await F.process(Self.messages(), on: batched.client)
        for m in Self.messages() { try await F.process([m], on: single.client) }
        let expected = try await Self.state(single)
        #expect(try await Self.state(batched) == expected)
        // The figures themselves: Ana's lead touched by her last message, her conversation
        // closed by the 30-hour gap and a new one opened; Bob opted out by his STOP.
        #expect(expected.contains { $0.hasPrefix("+5511977770001 lead open 17:00:00→26 23:01:00") })
        #expect(expected.filter { $0.contains(" conversation wamid.") }.count == 3)
        #expect(expected.contains { $0.contains("conversation wamid.A1 last 25 17:01:10 closed 25 17:01:10") })
        #expect(expected.contains("+447911000001 opted_out true v2"))
        #expect(expected.contains("wamid.B3 true"))
    }

    @Test func followUpsInABatchTouchTheLeadAndConversationOnce() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message("wamid.C1", from: "5511977770009", text: "oi", at: Self.t0)], on: db.client)
        // A redelivered first message plus 50 follow-ups, out of order within the batch.
        var batch = [F.message("wamid.C1", from: "5511977770009", text: "oi", at: Self.t0)]
        for i in (1...50).shuffled() {
            batch.append(
                F.message(
                    "wamid.C\(i + 1)", from: "5511977770009", text: "msg \(i)",
                    at: Self.t0.addingTimeInterval(Double(i))))
        }
        let events = try await F.process(batch, on: db.client)
        #expect(events.isEmpty)  // nothing CRM-visible changed: no new lead, conversation or contact
        #expect(try await db.count("SELECT 1 FROM leads") == 1)
        #expect(try await db.count("SELECT 1 FROM conversations") == 1)
        #expect(try await db.count("SELECT 1 FROM messages") == 51)
        let latest = Self.t0.addingTimeInterval(50)
        #expect(
            try await db.count("SELECT 1 FROM leads WHERE last_activity_at = '\(RFC3339.string(from: latest))'") == 1)
        #expect(
            try await db.count("SELECT 1 FROM conversations WHERE last_inbound_at = '\(RFC3339.string(from: latest))'")
                == 1)
    }
}
