import Foundation
import PostgresNIO
import Testing

/// Grafana cannot run here, so this checks what it would show: every metric a dashboard panel
/// or an alert rule queries is exported by a running service, and the reporter's backlog
/// gauges say what PostgreSQL holds (a failed send opens a failure, a paused campaign shows its
/// progress, an endpoint its waiting delivery).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DashboardMetricsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `crm_…` metric names in a text, histogram suffixes folded into the family name.
    static func metricNames(in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\bcrm_[a-z0-9_]+")
        let range = NSRange(text.startIndex..., in: text)
        return Set(
            regex.matches(in: text, range: range).compactMap { match -> String? in
                guard let r = Range(match.range, in: text) else { return nil }
                var name = String(text[r])
                for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) {
                    name.removeLast(suffix.count)
                }
                return name
            })
    }

    /// The metric families a service exports (`# TYPE name kind` lines).
    static func families(_ stack: E2EStack, _ service: String) async throws -> [String: [Substring]] {
        let text = try await HTTP.request(.GET, "\(stack.adminURL(service))/metrics").body
        var families: [String: [Substring]] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                families[String(line.split(separator: " ")[2]), default: []] += []
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                families[String(name), default: []].append(line)
            }
        }
        return families
    }

    /// The value of the one series of `metric` whose labels include all of `labels`.
    static func value(_ families: [String: [Substring]], _ metric: String, _ labels: [String]) -> Double? {
        families[metric]?.first { line in labels.allSatisfy { line.contains($0) } }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func everyMetricTheDashboardAndAlertsQueryIsExportedAndTheBacklogIsMeasured() async throws {
        let dashboard = try String(
            contentsOf: Self.root.appending(path: "deploy/grafana/dashboards/crm-pipeline.json"), encoding: .utf8)
        let alerts = try String(contentsOf: Self.root.appending(path: "deploy/prometheus/alerts.yml"), encoding: .utf8)
        let queried = Self.metricNames(in: dashboard).union(Self.metricNames(in: alerts))
        #expect(queried.count > 40, "\(queried.sorted())")

        try await E2EStack.with(
            simulatorPostsStatuses: true,
            settings: ["BACKLOG_PROBE_INTERVAL_MS": "300", "LAG_PROBE_INTERVAL_MS": "1000"]
        ) {
            stack in
            try await stack.waitForTemplates()
            // Traffic of each kind: an inbound message, a send that goes, one Meta refuses.
            #expect(
                try await stack.postInboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), text: "hi")
                    == 200)
            let refused = Payloads.newNumber()
            try await stack.setSimulatorFaults("*\(refused.suffix(6))=131026")
            let sent = try await stack.sendHello(to: Payloads.newNumber())
            let failed = try await stack.sendHello(to: refused)
            _ = try await stack.waitForSend(sent, state: "sent")
            _ = try await stack.waitForSend(failed, state: "failed")
            // What the backlog probe reads: a paused campaign with one recipient left, an endpoint
            // (switched off, so nothing delivers it) with one delivery waiting.
            let campaign = UUID()
            try await stack.postgres.query(
                """
                INSERT INTO campaigns (id, name, template_name, template_language, audience, state, recipients, created_by)
                VALUES (\(campaign), 'Black Friday', 'hello_world', 'en_US', '{}'::jsonb, 'paused', 2, 'test')
                """)
            try await stack.postgres.query(
                """
                INSERT INTO campaign_recipients (campaign_id, phone, state) VALUES (\(campaign), '5511999990001', 'pending')
                """)
            // One of its sends failed (Meta's 131026).
            let request = "bf-\(campaign.uuidString.prefix(8))"
            try await stack.postgres.query(
                """
                INSERT INTO send_requests (request_id, to_wa_id, payload, state, kind, campaign_id)
                VALUES (\(request), '5511999990002', '{}'::jsonb, 'failed', 'template', \(campaign))
                """)
            try await stack.postgres.query(
                """
                INSERT INTO send_attempts (request_id, attempt, error_code, decision)
                VALUES (\(request), 1, 131026, 'permanent')
                """)
            let endpoint = UUID()
            try await stack.postgres.query(
                """
                INSERT INTO outbound_webhooks (id, url, events, active) VALUES
                    (\(endpoint), 'https://hooks.example.com/crm?token=s3cr3t', ARRAY['*'], false)
                """)
            try await stack.postgres.query(
                """
                INSERT INTO webhook_deliveries (webhook_id, event_id, event_kind, body, created_at)
                VALUES (\(endpoint), 'e-1', 'lead.created', '{}', now() - interval '90 seconds')
                """)

            let campaignLabel = "campaign_id=\"\(campaign.uuidString.lowercased())\""
            var reporter: [String: [Substring]] = [:]
            try await eventually("the reporter exports the backlog", timeout: .seconds(30)) {
                reporter = try await Self.families(stack, "reporter")
                return Self.value(reporter, "crm_campaign_recipients", [campaignLabel, "state=\"pending\""]) == 1
                    && Self.value(reporter, "crm_failures_open", ["stage=\"send\""]) ?? 0 >= 1
                    && Self.value(reporter, "crm_outbound_webhook_pending", ["endpoint=\"https://hooks.example.com\""])
                        == 1
            }
            #expect(Self.value(reporter, "crm_campaign_progress_ratio", [campaignLabel]) == 0.5)
            #expect(Self.value(reporter, "crm_campaign_failures", [campaignLabel, "code=\"131026\""]) == 1)
            let oldest = Self.value(reporter, "crm_outbound_webhook_oldest_pending_seconds", ["hooks.example.com"])
            // 89: the probe's transaction (its now()) may have begun just before the row was written.
            #expect((oldest ?? 0) >= 89, "\(oldest ?? -1)")
            #expect(!reporter.values.joined().contains { $0.contains("s3cr3t") }, "a URL's query is never a label")
            #expect(Self.value(reporter, "crm_number_mps_limit", []) == 80)
            #expect(Self.value(reporter, "crm_sends_unsettled", ["state=\"retrying\""]) == 0)

            // Lag is reported once consumers have their partitions and the reporter has probed.
            var missing: [String] = []
            do {
                try await eventually("every queried metric exported", timeout: .seconds(40)) {
                    var exported: Set<String> = []
                    for service in ["gateway", "normalizer", "crm-matcher", "sender", "reporter"] {
                        exported.formUnion(try await Self.families(stack, service).keys)
                    }
                    missing = queried.filter { !exported.contains($0) }.sorted()
                    return missing.isEmpty
                }
            } catch {
                Issue.record("queried by a dashboard panel or an alert rule but exported by no service: \(missing)")
            }
            // The same picture on the operator's one screen.
            let crmctl = try ServiceProcess(
                binDir: stack.env.binDir, name: "crmctl", environment: stack.environment(for: "crmctl"),
                logDir: stack.logDir, arguments: ["status"])
            let exit = try await crmctl.waitForExit(timeout: .seconds(60))
            let screen = crmctl.logTail(80)
            #expect(exit.status == 0, "\(screen)")
            for line in [
                "Black Friday [paused] 50% of 2: pending 1, failed 1", "failed by code: 131026 ×1",
                "https://hooks.example.com: 1 waiting, oldest 1m", "retry queue 0 (due now 0",
                "number \(E2EStack.phoneNumberId): 80 msg/s",
            ] {
                #expect(screen.contains(line), "crmctl status lacks '\(line)':\n\(screen)")
            }
            #expect(
                screen.range(of: "\\n  crm-matcher +lag [0-9]+ +oldest [0-9]+s", options: .regularExpression) != nil,
                "\(screen)")
            #expect(screen.range(of: "send [1-9]", options: .regularExpression) != nil, "\(screen)")
            #expect(!screen.contains("s3cr3t"))

            let sender = try await Self.families(stack, "sender")
            #expect(Self.value(sender, "crm_graph_errors_total", ["code=\"131026\""]) == 1)
            #expect((Self.value(sender, "crm_graph_calls_total", []) ?? 0) >= 2)
        }
    }

    /// docs/OPERATIONS.md lists every panel with its queries, so an operator without Grafana
    /// (or reading the runbook) finds them.
    @Test func operationsDocListsEveryPanelAndAlert() throws {
        let data = try Data(contentsOf: Self.root.appending(path: "deploy/grafana/dashboards/crm-pipeline.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let doc = try String(contentsOf: Self.root.appending(path: "docs/OPERATIONS.md"), encoding: .utf8)
        for panel in panels where panel["type"] as? String != "row" {
            let title = try #require(panel["title"] as? String)
            #expect(doc.contains("| \(title) |"), "panel '\(title)' is not in docs/OPERATIONS.md")
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expr = try #require(target["expr"] as? String)
                #expect(
                    doc.contains(expr.replacingOccurrences(of: "|", with: "\\|")),
                    "query of '\(title)' not in the doc: \(expr)")
            }
        }
        let alerts = try String(contentsOf: Self.root.appending(path: "deploy/prometheus/alerts.yml"), encoding: .utf8)
        for line in alerts.split(separator: "\n") where line.contains("- alert: ") {
            let name = line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)
            #expect(doc.contains("### \(name)"), "alert \(name) has no runbook section in docs/OPERATIONS.md")
        }
    }
}
