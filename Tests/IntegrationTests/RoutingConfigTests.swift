import CRMSetup
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage
import Testing

/// The config file's `routing_rules` section: loaded idempotently (by name, owners by email),
/// and every problem of a bad section reported with its path and line.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RoutingConfigTests {
    static let good = """
        users:
          - email: Vera@Example.com
            name: Vera
            role: manager
        routing_rules:
          - name: Keep owners
            kind: sticky_owner
            position: 5
          - name: Pricing
            kind: keyword
            values: [preço, how much]
            assign: {round_robin: sales}
          - name: VIP line
            kind: phone_number
            values: ["106540352242922"]
            assign: {owner: vera@example.com}
            contact_owner: always
          - name: Jobs
            kind: keyword
            values: [vaga]
            open_lead: false
            active: false
          - name: Everything else
            kind: fallback
            assign: {queue: triage}
        """

    @Test func loadingTheRulesTwiceLeavesTheSameRows() async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "route")
        defer { db.close() }
        let logger = Logger(label: "routing-config-test")
        try await MigrationRunner().run(on: db.client, logger: logger)
        let config = try ConfigFile.parse(yaml: Self.good, file: "crm.yaml", environment: [:], canStoreSecrets: true)

        let first = try await ConfigApplier.apply(config, box: nil, on: db.client, logger: logger)
        #expect(first.sections == ["routing_rules"])
        let snapshot = """
            SELECT r.name, r.position::text, r.active::text, r.kind, array_to_string(r.match_values, '|'),
                   coalesce(u.email, ''), coalesce(r.assign_round_robin, ''), coalesce(r.assign_queue, ''),
                   r.contact_owner, r.open_lead::text, r.updated_at::text, r.id::text
            FROM routing_rules r LEFT JOIN users u ON u.id = r.assign_owner_id ORDER BY r.position, r.name
            """
        func rows() async throws -> [String] {
            var out: [String] = []
            for try await row in try await db.client.query(PostgresQuery(unsafeSQL: snapshot)).decode(
                (String, String, String, String, String, String, String, String, String, String, String, String).self)
            {
                out.append("\(row)")
            }
            return out
        }
        let loaded = try await rows()
        #expect(loaded.count == 5)
        // File order gives the positions it leaves out: (index + 1) * 10.
        #expect(
            try await db.count(
                """
                SELECT 1 FROM routing_rules WHERE (name, position) IN
                  (('Keep owners', 5), ('Pricing', 20), ('VIP line', 30), ('Jobs', 40), ('Everything else', 50))
                """) == 5)
        #expect(
            try await db.count(
                """
                SELECT 1 FROM routing_rules r JOIN users u ON u.id = r.assign_owner_id
                WHERE r.name = 'VIP line' AND u.email = 'vera@example.com' AND r.contact_owner = 'always'
                """) == 1)
        #expect(
            try await db.count(
                "SELECT 1 FROM routing_rules WHERE name = 'Jobs' AND NOT active AND NOT open_lead AND assign_queue IS NULL"
            ) == 1)
        #expect(try await db.count("SELECT 1 FROM routing_rules WHERE match_values = '{preço,\"how much\"}'") == 1)
        // The round-robin department has its cursor row from the start.
        #expect(try await db.count("SELECT 1 FROM routing_cursors WHERE department = 'sales'") == 1)

        _ = try await ConfigApplier.apply(config, box: nil, on: db.client, logger: logger)
        #expect(try await rows() == loaded)  // same rows, same ids, not even updated_at moved

        // A rule the API added and the file does not name is left alone; one the file names
        // gets the file's fields back.
        try await db.client.query(
            "INSERT INTO routing_rules (name, position, kind, assign_queue) VALUES ('From the API', 7, 'fallback', 'x')"
        )
        try await db.client.query("UPDATE routing_rules SET position = 99 WHERE name = 'Pricing'")
        _ = try await ConfigApplier.apply(config, box: nil, on: db.client, logger: logger)
        #expect(try await db.count("SELECT 1 FROM routing_rules") == 6)
        #expect(try await db.count("SELECT 1 FROM routing_rules WHERE name = 'Pricing' AND position = 20") == 1)
    }

    @Test func aBadSectionListsEveryProblemWithItsPathAndLine() async throws {
        let bad = """
            routing_rules:
              - name: No kind
                values: [x]
              - name: Bad kind
                kind: magic
              - name: Keyword without words
                kind: keyword
                assign: {queue: q}
              - name: Two targets
                kind: fallback
                assign: {queue: q, round_robin: sales}
              - name: Values on a fallback
                kind: fallback
                values: [x]
                assign: {queue: q}
                colour: red
              - name: Bad position
                kind: fallback
                position: -3
                active: maybe
                assign: {queue: q}
              - name: Sticky one
                kind: sticky_owner
              - name: Sticky two
                kind: sticky_owner
              - name: Sticky one
                kind: fallback
                assign: {queue: q}
              - name: Needs a target
                kind: payload
                values: [YES]
            """
        let error = try #require(
            throws: ConfigFileError.self,
            performing: {
                try ConfigFile.parse(yaml: bad, file: "bad.yaml", environment: [:], canStoreSecrets: true)
            })
        let found = error.problems.map { "\($0.path)@\($0.line.map(String.init) ?? "-")" }
        let expected: Set<String> = [
            "routing_rules[0].kind@2", "routing_rules[1].kind@5", "routing_rules[2].values@6",
            "routing_rules[3].assign@11", "routing_rules[4].values@14", "routing_rules[4].colour@16",
            "routing_rules[5].position@19",
            "routing_rules[5].active@20", "routing_rules[7]@24", "routing_rules[8].name@26",
            "routing_rules[9].assign@29",
        ]
        #expect(Set(found) == expected, "\(error)")
        #expect(error.problems.count == expected.count)
        #expect(error.problems.allSatisfy { $0.file == "bad.yaml" })
        #expect(error.description.contains("routing_rules[1].kind: one of sticky_owner"))
    }

    @Test func anUnknownOwnerStopsTheLoadNamingItsLine() async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "route")
        defer { db.close() }
        let logger = Logger(label: "routing-config-test")
        try await MigrationRunner().run(on: db.client, logger: logger)
        let yaml = """
            routing_rules:
              - name: Fine
                kind: fallback
                assign: {queue: q}
              - name: Nobody
                kind: fallback
                assign: {owner: ghost@example.com}
            """
        let config = try ConfigFile.parse(yaml: yaml, file: "crm.yaml", environment: [:], canStoreSecrets: true)
        let error = try await #require(throws: ConfigFileError.self) {
            try await ConfigApplier.apply(config, box: nil, on: db.client, logger: logger)
        }
        #expect(error.problems.map(\.path) == ["routing_rules[1].assign.owner"])
        #expect(error.problems.first?.message.contains("ghost@example.com") == true)
        #expect(error.problems.first?.line != nil)
        #expect(try await db.count("SELECT 1 FROM routing_rules") == 0)  // all or nothing
    }
}
