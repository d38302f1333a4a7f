import Foundation
import ServiceKit
import Testing
import WireModels

/// The fault matrix (issue 23): the same seeded workload — inbound messages from new and known
/// customers, opt-outs, a workflow rule firing, API sends, a campaign, Meta's statuses — runs
/// once clean and once per fault, each on a fresh stack with PostgreSQL and a broker of its
/// own. Each run's final CRM state is compared with the clean run's by natural key; the table
/// (fault, events in, lost, doubled, differing rows, time to recover) is printed and written
/// to `FAULT_REPORT` (default `.data/faults/last.md`). `make test` runs the short profile;
/// `make test-faults` the full one. `FAULT_ONLY=name,name` runs a subset (plus the clean run).
@Suite(.serialized, .timeLimit(.minutes(25)))
struct FaultMatrixTests {
    @Test func everyFaultEndsInTheCleanRunsState() async throws {
        let profile = FaultProfile.current
        let workload = FaultWorkload(profile: profile)
        let only = ProcessInfo.processInfo.environment["FAULT_ONLY"].map {
            Set($0.split(separator: ",").map(String.init))
        }
        let faults = MatrixFault.all(profile).filter { only == nil || only!.contains($0.name) }
        let clean = try await MatrixRun.run(.clean, profile: profile, workload: workload)
        #expect(clean.didSettle, "the clean run did not settle: \(clean.notSettled)")
        #expect(clean.throttled == 0 && clean.outOfOrder == 0)
        var rows = [FaultTableRow(fault: "clean", run: clean, comparison: .init())]
        for fault in faults {
            let run = try await MatrixRun.run(fault, profile: profile, workload: workload)
            let comparison = run.snapshot.compare(with: clean.snapshot)
            rows.append(FaultTableRow(fault: fault.name, run: run, comparison: comparison))
            #expect(comparison.lost.isEmpty, "\(fault.name): lost \(comparison.lost)")
            #expect(comparison.doubled.isEmpty, "\(fault.name): doubled \(comparison.doubled)")
            #expect(comparison.differing.isEmpty, "\(fault.name): differing \(comparison.differing)")
            // Only a sender that dies can leave a send in the window, and none may be in it
            // unless Meta never saw it (checked by `compare` against Meta's accepted count).
            if !fault.killsASender {
                #expect(comparison.unknownOutcome.isEmpty, "\(fault.name): \(comparison.unknownOutcome)")
            }
            #expect(run.didSettle, "\(fault.name): did not settle: \(run.notSettled)")
            #expect(run.throttled == 0, "\(fault.name): Meta refused \(run.throttled) sends over the number's rate")
            // Meta's retries may deliver a customer's messages out of order; without them the
            // CRM must keep the order, whichever replica handles them.
            if run.retries == 0 {
                #expect(run.outOfOrder == 0, "\(fault.name): \(run.outOfOrder) customers' messages out of order")
            }
        }
        let table = FaultTableRow.render(rows, profile: profile, workload: workload)
        print(table)
        let path =
            ProcessInfo.processInfo.environment["FAULT_REPORT"]
            ?? FileManager.default.currentDirectoryPath + "/.data/faults/last.md"
        try? FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try table.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// The comparison itself: a missing key is lost, a key with more rows is doubled, a changed
/// value or an unexpected key differs, and Meta accepting a send twice is doubled.
struct FaultComparisonTests {
    @Test func lostDoubledAndDifferingRowsAreFound() {
        var clean = CRMSnapshot()
        clean.rows = [
            "contact": ["5511": ["opted_out=false"], "5512": ["opted_out=true"]],
            "task": ["5511 Send the menu": ["open"]], "send": ["api 5511 hello_world": ["sent status=read"]],
        ]
        clean.accepted = 1
        var run = clean
        #expect(run.compare(with: clean).isClean)
        run.rows["contact"]?["5512"] = nil
        run.rows["task"]?["5511 Send the menu"] = ["open", "open"]
        run.rows["send"]?["api 5511 hello_world"] = ["failed status=-"]
        run.rows["send"]?["workflow 5513 hello_world"] = ["sent status=read"]
        run.acceptedTwice = 1
        let result = run.compare(with: clean)
        #expect(result.lost == ["contact 5512"])
        #expect(result.doubled == ["task 5511 Send the menu ×2", "Meta accepted 1 send(s) twice"])
        #expect(result.differing.count == 2, "\(result.differing)")

        // A send a dying sender left in the window: failed, and Meta never saw it.
        var window = clean
        window.rows["send"]?["api 5511 hello_world"] = ["failed (outcome unknown) status=-"]
        window.accepted = 0
        let inWindow = window.compare(with: clean)
        #expect(inWindow.unknownOutcome == ["api 5511 hello_world"] && inWindow.differing.isEmpty)
        window.accepted = 1  // Meta did take it: then the row is wrong, not in the window.
        #expect(!window.compare(with: clean).differing.isEmpty)
    }
}

/// One fault: what it changes in the stack's settings, how often Meta delivers each webhook,
/// and what it does mid-load (returning when the fault is over).
struct MatrixFault: Sendable {
    let name: String
    var settings: [String: String] = [:]
    var copies = 1
    /// SIGKILLs a sender mid-load (the only way a send can end in the unknown window).
    var killsASender = false
    /// Before the load: returns the base URLs of more gateways to post to (replicas).
    var setup: @Sendable (MatrixRun.Context) async throws -> [String] = { _ in [] }
    let inject: @Sendable (MatrixRun.Context) async throws -> Void

    static let clean = MatrixFault(name: "clean") { _ in }

    static func all(_ profile: FaultProfile) -> [MatrixFault] {
        let outage = profile.faultFor
        var faults = [
            MatrixFault(
                name: "webhooks-3x",
                settings: ["SIMULATOR_SHUFFLE_STATUSES": "true", "SIMULATOR_DUPLICATE_STATUSES": "0.5"], copies: 3
            ) { _ in }
        ]
        for worker in ["normalizer", "crm-matcher", "sender", "reporter"] {
            faults.append(
                MatrixFault(name: "kill-\(worker)", killsASender: worker == "sender") { c in
                    c.stack.kill(worker)
                    try await Task.sleep(for: .seconds(1))
                    try c.stack.start(worker)
                    try await c.stack.waitReady([worker])
                })
        }
        faults += [
            MatrixFault(name: "postgres-stop") { c in
                try await c.postgres.stop()
                try await Task.sleep(for: outage)
                try await c.postgres.start()
            },
            MatrixFault(name: "broker-frozen") { c in
                c.broker.freeze()
                try await Task.sleep(for: outage)
                c.broker.thaw()
            },
            MatrixFault(name: "meta-errors") { c in
                // 429s, 5xx, Meta's throughput error and answers past the client's timeout.
                try await c.stack.setSimulatorFaults(
                    "~0.15=130429,~0.1=http429,~0.1=http503,~0.1=131000,~0.1=delay2500")
                try await Task.sleep(for: outage)
                _ = try await HTTP.request(.DELETE, "\(c.stack.simulatorURL)/_sim/faults")
            },
            MatrixFault(name: "scale-out-in", killsASender: true, setup: startSecondReplicas) { c in
                // A third crm-matcher and sender join mid-load, then one of each is SIGKILLed.
                for name in ["crm-matcher", "sender"] { try c.stack.start("\(name)-3", binary: name) }
                try await c.stack.waitReady(["crm-matcher-3", "sender-3"])
                try await Task.sleep(for: .seconds(3))
                c.stack.kill("crm-matcher")
                c.stack.kill("sender-2")
            },
            MatrixFault(name: "rolling-restart") { c in
                for name in ["normalizer", "crm-matcher", "sender", "reporter", "gateway"] {
                    await c.stack.processes[name]?.stop()
                    try c.stack.start(name, port: name == "gateway" ? c.stack.gatewayPort : nil)
                    try await c.stack.waitReady([name])
                }
            },
        ]
        return faults
    }
}

/// A second replica of every worker and a second gateway (posted to in turn with the first).
@Sendable func startSecondReplicas(_ c: MatrixRun.Context) async throws -> [String] {
    let workers = ["normalizer", "crm-matcher", "sender", "reporter"]
    for name in workers { try c.stack.start("\(name)-2", binary: name) }
    let port = freePort()
    try c.stack.start("gateway-2", binary: "gateway", port: port)
    try await c.stack.waitReady(workers.map { "\($0)-2" })
    let url = "http://127.0.0.1:\(port)"
    try await eventually("the second gateway ready", timeout: .seconds(60)) {
        try await HTTP.request(.GET, "\(url)/readyz").status == 200
    }
    return [c.stack.gatewayURL, url]
}

/// One run of the workload on a fresh stack, with or without a fault.
struct MatrixRun: Sendable {
    struct Context: Sendable {
        let stack: E2EStack
        let postgres: PrivatePostgres
        let broker: PrivateBroker
    }

    let snapshot: CRMSnapshot
    let eventsIn: Int
    /// Posts and API calls the callers had to repeat (503s, refused connections).
    let retries: Int
    /// Errors and delays the simulator answered sends with.
    let metaFaults: Int
    /// Sends the simulator refused for going over the number's rate (the governor's pace).
    let throttled: Int
    /// The longest a message took from the gateway to its row (a rebalance's pause shows here).
    let maxLatency: Double
    /// Customers with a message stored before an earlier one of theirs.
    let outOfOrder: Int
    var didSettle: Bool { settled != nil }
    let notSettled: String
    /// From the start of the load until the CRM reached its final state.
    let settled: Duration?
    /// From the end of the fault until then.
    let recovery: Duration?

    static let settings = [
        // A stage waits out an outage for 4/5 of max.poll.interval.ms; 60 s covers 10 s.
        "KAFKA_PROPERTIES": "session.timeout.ms=6000,max.poll.interval.ms=60000,heartbeat.interval.ms=500",
        "GRAPH_TIMEOUT_MS": "1500", "SEND_LEASE_MS": "9000", "SEND_QUEUED_GRACE_MS": "1500",
        "SEND_SWEEP_INTERVAL_MS": "200", "SEND_UNKNOWN_GRACE_MS": "30000", "SIMULATOR_SEED": "7",
        // Meta's limit for the number, and the number's rate in the CRM: every replica together
        // must stay under it (the simulator refuses a send over it with 130429, counted).
        "SIMULATOR_MPS": "\(mps)",
    ]
    static let mps = 6

    static func run(_ fault: MatrixFault, profile: FaultProfile, workload: FaultWorkload) async throws -> MatrixRun {
        let postgres = try await PrivatePostgres.start()
        defer { postgres.destroy() }
        guard let broker = try PrivateBroker.start() else { throw MissingEnvironment(key: "CRM_TANSU_BIN") }
        defer { broker.stop() }
        let stack = try await E2EStack(
            simulatorPostsStatuses: true, settings: settings.merging(fault.settings) { _, new in new },
            databaseServer: postgres.url, kafkaBrokers: broker.address)
        do {
            let result = try await run(
                fault, Context(stack: stack, postgres: postgres, broker: broker), profile: profile,
                workload: workload)
            await stack.shutdown()
            return result
        } catch {
            Issue.record("\(fault.name): service logs:\n\(stack.logs())")
            await stack.shutdown()
            throw error
        }
    }

    static func run(_ fault: MatrixFault, _ c: Context, profile: FaultProfile, workload: FaultWorkload)
        async throws -> MatrixRun
    {
        let stack = c.stack
        let campaign = try await prepare(stack, workload)
        let gateways = try await fault.setup(c)

        let driver = LoadDriver(workload: workload, copies: fault.copies, gateways: gateways)
        let loadStart = ContinuousClock.now
        async let load: Void = driver.run(on: stack)
        let launched = try await stack.api(.POST, "/campaigns/\(campaign)/launch")
        #expect(launched.status == 200, "\(launched.body)")
        try await Task.sleep(until: loadStart + profile.faultAt)
        try await fault.inject(c)
        let faultEnded = ContinuousClock.now
        await load

        let refused = driver.counters.refused.withLock { $0 }
        #expect(refused.isEmpty, "\(fault.name): API sends refused: \(refused)")
        var notSettled = ""
        var settledAt: ContinuousClock.Instant?
        do {
            try await eventually("the CRM to settle", timeout: .seconds(180), every: .milliseconds(500)) {
                notSettled = try await unsettled(stack, workload)
                return notSettled.isEmpty
            }
            settledAt = .now
        } catch {}
        var snapshot = try await CRMSnapshot.take(stack.postgres)
        let stats = try await stack.simulatorStats()
        snapshot.accepted = Int(stats["distinct_callbacks"]?.doubleValue ?? -1)
        snapshot.acceptedTwice = Int(stats["duplicate_callbacks"]?.doubleValue ?? -1)
        let latency = try await stack.postgres.query(
            """
            SELECT coalesce(max(extract(epoch FROM created_at - received_at)), 0)::float8 FROM messages
            WHERE direction = 'inbound' AND received_at IS NOT NULL
            """)
        var maxLatency = 0.0
        for try await value in latency.decode(Double.self) { maxLatency = value }
        let outOfOrder = try await stack.count(
            """
            SELECT DISTINCT a.contact_id FROM messages a JOIN messages b ON a.contact_id = b.contact_id
            WHERE a.direction = 'inbound' AND b.direction = 'inbound'
              AND substring(a.wamid FROM 'M([0-9]+)$')::int < substring(b.wamid FROM 'M([0-9]+)$')::int
              AND a.created_at > b.created_at
            """)
        let counters = driver.counters
        let events = counters.webhookPosts.load(ordering: .relaxed) + counters.apiCalls.load(ordering: .relaxed)
        let retries = counters.webhookRetries.load(ordering: .relaxed) + counters.apiRetries.load(ordering: .relaxed)
        var injected = 0.0
        if case .object(let kinds)? = stats["faults_injected"] {
            injected = kinds.values.reduce(0) { $0 + ($1.doubleValue ?? 0) }
        }
        return MatrixRun(
            snapshot: snapshot, eventsIn: events, retries: retries, metaFaults: Int(injected),
            throttled: Int(stats["throttled"]?.doubleValue ?? -1), maxLatency: maxLatency, outOfOrder: outOfOrder,
            notSettled: notSettled, settled: settledAt.map { $0 - loadStart },
            recovery: settledAt.map { max(.zero, $0 - faultEnded) })
    }

    /// The rule, the campaign (tested, not launched) and the known customers, before the load.
    static func prepare(_ stack: E2EStack, _ workload: FaultWorkload) async throws -> String {
        try await stack.waitForTemplates()
        try await stack.postgres.query("UPDATE wa_phone_numbers SET messages_per_second = \(mps)")
        let rule = try await stack.api(
            .POST, "/workflow-rules",
            body: """
                {"name":"menu","trigger":{"type":"keyword","keywords":["menu"]},
                 "actions":[{"type":"send_template","name":"hello_world","language":"en_US"},
                            {"type":"create_task","title":"Send the menu","due_in_minutes":60}]}
                """)
        #expect(rule.status == 201, "\(rule.body)")
        for body in workload.warmUp() { #expect(try await stack.postWebhook(body).status == 200) }
        let known = workload.customers.filter(\.known).count
        try await eventually("the known customers") {
            try await stack.count("SELECT 1 FROM contacts") == known
        }
        try await stack.postgres.query(
            "INSERT INTO test_recipients (phone, name) VALUES (\("+" + workload.tester), 'QA')")
        let csv = (["phone"] + workload.stayers.map { "+" + $0.number }).joined(separator: "\n")
        let body = JSONValue.object([
            "name": "fault-matrix", "template": "hello_world", "language": "en_US",
            "audience": .object(["csv": .string(csv)]),
        ])
        let created = try await stack.api(
            .POST, "/campaigns", body: String(decoding: try JSONCoding.encoder().encode(body), as: UTF8.self))
        #expect(created.status == 201, "\(created.body)")
        let id = try #require(created.json?["id"]?.stringValue)
        let test = try await stack.api(.POST, "/campaigns/\(id)/test-send")
        #expect(test.status == 202, "\(test.body)")
        try await eventually("the campaign to be tested", timeout: .seconds(60)) {
            try await stack.api(.GET, "/campaigns/\(id)").json?["state"]?.stringValue == "tested"
        }
        return id
    }

    /// What is not yet final (empty once it is): every message stored, every send settled and
    /// read, the campaign done, the rule's tasks made, the opt-outs recorded.
    static func unsettled(_ stack: E2EStack, _ workload: FaultWorkload) async throws -> String {
        var left: [String] = []
        let inbound = try await stack.count("SELECT 1 FROM messages WHERE direction = 'inbound'")
        if inbound < workload.inboundMessages { left.append("inbound \(inbound)/\(workload.inboundMessages)") }
        let sends = try await stack.count("SELECT 1 FROM send_requests WHERE state IN ('sent', 'failed', 'blocked')")
        if sends < workload.expectedSends {
            let rows = try await stack.postgres.query(
                """
                SELECT concat(coalesce(requested_by, '-'), ' ', to_wa_id, ' ', state) FROM send_requests
                WHERE state NOT IN ('sent', 'failed', 'blocked') ORDER BY created_at LIMIT 10
                """)
            var open: [String] = []
            for try await row in rows.decode(String.self) { open.append(row) }
            left.append("sends settled \(sends)/\(workload.expectedSends), open: \(open)")
        }
        let unread = try await stack.count(
            """
            SELECT 1 FROM send_requests s LEFT JOIN messages m ON m.wamid = s.wamid
            WHERE s.state = 'sent' AND coalesce(m.status, '') <> 'read'
            """)
        if unread > 0 { left.append("sent but not read \(unread)") }
        let done = try await stack.count("SELECT 1 FROM campaigns WHERE state = 'done'")
        if done != 1 { left.append("campaign not done") }
        let menu = workload.customers.filter(\.asksForMenu).count
        let tasks = try await stack.count("SELECT 1 FROM tasks")
        if tasks < menu { left.append("tasks \(tasks)/\(menu)") }
        let stops = workload.customers.filter(\.optsOut).count
        let optedOut = try await stack.count("SELECT 1 FROM contacts WHERE opted_out")
        if optedOut < stops { left.append("opted out \(optedOut)/\(stops)") }
        return left.joined(separator: ", ")
    }
}

/// One line of the printed table.
struct FaultTableRow: Sendable {
    let fault: String
    let run: MatrixRun
    let comparison: CRMSnapshot.Comparison

    static func render(_ rows: [FaultTableRow], profile: FaultProfile, workload: FaultWorkload) -> String {
        let rowCount = rows.first?.run.snapshot.rows.values.reduce(0) { $0 + $1.count } ?? 0
        var out = """
            Fault matrix, profile \(profile.name) (seed \(workload.seed)): \(workload.customers.count) customers, \
            \(workload.inboundMessages) inbound messages, \(workload.expectedSends) sends, \(rowCount) CRM rows \
            compared by natural key; faults start \(profile.faultAt) into the load and last \(profile.faultFor).

            | fault | events in | retried | Meta errors | lost | doubled | differing rows | unknown outcome | out of order | over the rate | max ingest latency | final state after (vs clean) | after the fault ended |
            |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|

            """
        for row in rows {
            let recovery = row.run.recovery.map { String(format: "%.1f s", $0.seconds) } ?? "not settled"
            var settled = "not settled"
            if let at = row.run.settled {
                settled = String(format: "%.1f s", at.seconds)
                if let base = rows.first?.run.settled { settled += String(format: " (%+.1f)", (at - base).seconds) }
            }
            out +=
                "| \(row.fault) | \(row.run.eventsIn) | \(row.run.retries) | \(row.run.metaFaults) "
                + "| \(row.comparison.lost.count) | \(row.comparison.doubled.count) "
                + "| \(row.comparison.differing.count) | \(row.comparison.unknownOutcome.count) | \(row.run.outOfOrder) | \(row.run.throttled) "
                + "| \(String(format: "%.1f s", row.run.maxLatency)) | \(settled) | \(recovery) |\n"
        }
        for row in rows where !row.comparison.isClean {
            out += "\n\(row.fault):\n"
            for line
                in (row.comparison.lost.map { "  lost: \($0)" } + row.comparison.doubled.map { "  doubled: \($0)" }
                + row.comparison.differing.map { "  differs: \($0)" }
                + row.comparison.unknownOutcome.map { "  unknown outcome (failed, never at Meta): \($0)" }).prefix(30)
            {
                out += line + "\n"
            }
        }
        return out
    }
}
