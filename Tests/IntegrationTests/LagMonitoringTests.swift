import Foundation
import Testing

/// The reporter's outside view of consumer groups: lag and the oldest unprocessed record's
/// age rise while a stage is down and return to zero once it is back.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct LagMonitoringTests {
    /// Sum of a metric's series for one stage, from the reporter's /metrics.
    func scrape(_ stack: E2EStack, _ metric: String, stage: String) async throws -> Double? {
        let text = try await HTTP.request(.GET, "\(stack.adminURL("reporter"))/metrics").body
        let series = text.split(separator: "\n").filter {
            $0.hasPrefix(metric + "{") && $0.contains("stage=\"\(stage)\"")
        }
        guard !series.isEmpty else { return nil }
        return series.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test func lagRisesWhileTheMatcherIsStoppedAndReturnsToZeroAfterItRestarts() async throws {
        try await E2EStack.with { stack in
            try await eventually("the reporter measures the crm-matcher group") {
                try await scrape(stack, "crm_consumer_group_lag", stage: "crm-matcher") == 0
            }
            _ = await stack.processes["crm-matcher"]?.stop()

            var wamids: [String] = []
            for _ in 0..<4 {
                let wamid = Payloads.newWamid()
                wamids.append(wamid)
                #expect(try await stack.postInboundText(wamid: wamid, from: Payloads.newNumber(), text: "oi") == 200)
            }
            try await eventually("lag of the stopped stage is visible", timeout: .seconds(30)) {
                try await scrape(stack, "crm_consumer_group_lag", stage: "crm-matcher") == 4
            }
            try await Task.sleep(for: .seconds(1.5))
            let age = try await scrape(stack, "crm_consumer_group_oldest_unprocessed_seconds", stage: "crm-matcher")
            #expect((age ?? 0) >= 1, "the oldest unprocessed record is at least a second old, got \(age ?? -1)")
            // Stages that are running catch up meanwhile.
            try await eventually("the running normalizer shows no lag", timeout: .seconds(30)) {
                try await scrape(stack, "crm_consumer_group_lag", stage: "normalizer") == 0
            }

            try stack.start("crm-matcher")
            try await stack.waitReady(["crm-matcher"])
            try await eventually("lag back to zero after the restart", timeout: .seconds(60)) {
                try await scrape(stack, "crm_consumer_group_lag", stage: "crm-matcher") == 0
            }
            #expect(try await scrape(stack, "crm_consumer_group_oldest_unprocessed_seconds", stage: "crm-matcher") == 0)
            let stored = try await stack.count(
                "SELECT 1 FROM messages WHERE wamid IN (\(wamids.map { "'\($0)'" }.joined(separator: ",")))")
            #expect(stored == 4)
        }
    }
}
