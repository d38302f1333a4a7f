import Foundation
import PostgresNIO

/// The CRM's final state by natural key (phone numbers, wamids, idempotency keys, names),
/// never by generated ids, so two runs of the same workload compare row by row.
struct CRMSnapshot: Sendable {
    /// kind → key → the values found under it (more than one: the row is doubled).
    var rows: [String: [String: [String]]] = [:]

    /// kind, key, value: one query per kind of CRM state.
    static let queries: [(kind: String, sql: String)] = [
        (
            "contact",
            "SELECT wa_id, concat('name=', coalesce(name, profile_name, ''), ' opted_out=', opted_out) FROM contacts"
        ),
        (
            "message",
            """
            SELECT m.wamid, concat(c.wa_id, ' ', m.type, ' ', coalesce(m.text, '')) FROM messages m
            LEFT JOIN contacts c ON c.id = m.contact_id WHERE m.direction = 'inbound'
            """
        ),
        (
            "send",
            """
            SELECT concat(CASE WHEN s.test THEN 'test' WHEN s.campaign_id IS NOT NULL THEN 'campaign'
                               WHEN s.requested_by LIKE 'workflow:%' THEN 'workflow' ELSE 'api' END,
                          ' ', s.to_wa_id, ' ', coalesce(s.template_name, '')),
                   concat(s.state,
                          CASE WHEN s.state = 'failed' AND EXISTS (
                              SELECT 1 FROM send_attempts a WHERE a.request_id = s.request_id
                                AND a.decision LIKE '%no status from Meta%') THEN ' (outcome unknown)' ELSE '' END,
                          ' status=', coalesce(m.status, '-'))
            FROM send_requests s LEFT JOIN messages m ON m.wamid = s.wamid
            """
        ),
        (
            "lead",
            """
            SELECT c.wa_id, concat(l.status, '/', l.stage) FROM leads l JOIN contacts c ON c.id = l.contact_id
            """
        ),
        (
            "task",
            """
            SELECT concat(c.wa_id, ' ', t.title), t.status FROM tasks t LEFT JOIN contacts c ON c.id = t.contact_id
            """
        ),
        (
            "campaign",
            """
            SELECT concat(c.name, ' ', r.phone), r.state FROM campaign_recipients r
            JOIN campaigns c ON c.id = r.campaign_id
            """
        ),
        ("campaign-state", "SELECT name, concat(state, ' recipients=', recipients) FROM campaigns"),
    ]

    static func take(_ postgres: PostgresClient) async throws -> CRMSnapshot {
        var snapshot = CRMSnapshot()
        for (kind, sql) in queries {
            let rows = try await postgres.query(PostgresQuery(unsafeSQL: sql))
            for try await (key, value) in rows.decode((String, String).self) {
                snapshot.rows[kind, default: [:]][key, default: []].append(value)
            }
        }
        return snapshot
    }

    /// A simulator figure kept beside the rows: sends Meta accepted, and accepted twice.
    var accepted = 0
    var acceptedTwice = 0

    /// Rows of `self` against the clean run's: missing keys are lost, keys with more rows than
    /// the clean run's are doubled (and sends Meta accepted twice), anything else that differs
    /// (a value, a key the clean run does not have) is listed as differing.
    func compare(with clean: CRMSnapshot) -> Comparison {
        var result = Comparison()
        for kind in Set(clean.rows.keys).union(rows.keys).sorted() {
            let theirs = clean.rows[kind] ?? [:]
            let ours = rows[kind] ?? [:]
            for key in Set(theirs.keys).union(ours.keys).sorted() {
                let expected = (theirs[key] ?? []).sorted()
                let found = (ours[key] ?? []).sorted()
                if found == expected { continue }
                if kind == "send", expected == ["sent status=read"], found == ["failed (outcome unknown) status=-"] {
                    // The documented window: a sender died between marking the call and sending it.
                    result.unknownOutcome.append(key)
                } else if found.isEmpty {
                    result.lost.append("\(kind) \(key)")
                } else if found.count > expected.count && !expected.isEmpty {
                    result.doubled.append("\(kind) \(key) ×\(found.count)")
                } else {
                    result.differing.append("\(kind) \(key): \(found) (clean: \(expected))")
                }
            }
        }
        if acceptedTwice > 0 { result.doubled.append("Meta accepted \(acceptedTwice) send(s) twice") }
        // A send in the window never reached Meta, or Meta would have sent its status.
        if accepted + result.unknownOutcome.count != clean.accepted {
            result.differing.append("Meta accepted \(accepted) sends (clean: \(clean.accepted))")
        }
        return result
    }

    struct Comparison: Sendable {
        var lost: [String] = []
        var doubled: [String] = []
        var differing: [String] = []
        /// Sends that ended `failed` because their sender died after marking the call and before
        /// it left (ARCHITECTURE "The window that remains"): never at Meta, listed for replay.
        var unknownOutcome: [String] = []
        var isClean: Bool { lost.isEmpty && doubled.isEmpty && differing.isEmpty && unknownOutcome.isEmpty }
    }
}
