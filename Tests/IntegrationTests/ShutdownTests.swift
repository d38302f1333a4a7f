import Foundation
import ServiceKit
import Testing

/// Every service drains and exits promptly on SIGTERM (Kubernetes kills at 30 s; `make run`
/// stops everything with it): idle within 3 s, and the sender, mid-send, only after its calls
/// in flight are answered and recorded. `make test` runs this suite alone, after the others
/// (scripts/test.sh), so the bounds measure the services rather than a machine running ~80 suites.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ShutdownTests {
    @Test func everyServiceOfAnIdleStackExitsWithinThreeSecondsOfSIGTERM() async throws {
        try await E2EStack.with { stack in
            // Idle, but after some work: a message in, consumer groups formed.
            #expect(
                try await stack.postInboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), text: "hi")
                    == 200)
            try await eventually("the message stored") { try await stack.count("SELECT 1 FROM messages") == 1 }
            try await Task.sleep(for: .seconds(1))
            var times: [String] = []
            defer { print("SIGTERM to exit, idle: \(times.joined(separator: ", "))") }
            for name in ["gateway", "normalizer", "crm-matcher", "sender", "reporter", "wa-simulator"] {
                let process = try #require(stack.processes[name])
                let started = ContinuousClock.now
                let status = await process.stop(timeout: .seconds(10))
                let took = ContinuousClock.now - started
                times.append("\(name) \(Int(took.seconds * 1000)) ms")
                #expect(status == 0, "\(name) exit status \(status.map(String.init) ?? "none: SIGKILLed after 10 s")")
                #expect(took < .seconds(3), "\(name) took \(took) to stop; its last lines:\n\(process.logTail(8))")
                #expect(!process.logTail(200).contains("Already closed"), "\(name): \(process.logTail(5))")
            }
        }
    }

    @Test func theSenderFinishesAndRecordsItsCallsInFlightBeforeItExits() async throws {
        try await E2EStack.with(simulatorPostsStatuses: false) { stack in
            try await stack.waitForTemplates()
            try await stack.setSimulatorFaults("~1=delay1500")
            var ids: [String] = []
            for _ in 0..<10 {
                let r = try await stack.sendTemplate(to: Payloads.newNumber(), name: "hello_world")
                ids.append(try #require(r.json?["request_id"]?.stringValue))
            }
            try await eventually("calls in flight", every: .milliseconds(20)) {
                try await stack.count("SELECT 1 FROM send_requests WHERE graph_call_at IS NOT NULL") > 0
            }
            let sender = try #require(stack.processes["sender"])
            let started = ContinuousClock.now
            let status = await sender.stop(timeout: .seconds(20))
            let took = ContinuousClock.now - started
            #expect(status == 0)
            #expect(took < .seconds(6), "sender took \(took) to stop")
            // Nothing it had called is left in doubt: every marked call was answered and recorded.
            #expect(
                try await stack.count(
                    "SELECT 1 FROM send_requests WHERE graph_call_at IS NOT NULL AND state IN ('sending', 'unknown')")
                    == 0)
            #expect(try await stack.count("SELECT 1 FROM send_requests WHERE state = 'sent'") >= 1)
            // Those it had not started wait for the next sender, which sends each once.
            try stack.start("sender")
            for id in ids { try await stack.waitForSend(id, state: "sent") }
            #expect(Int(try await stack.simulatorStats()["duplicate_callbacks"]?.doubleValue ?? -1) == 0)
        }
    }
}
