import Foundation
import Testing
import WireModels

/// Send-path helpers: templates synced, template sends, send states, the simulator's control API.
extension E2EStack {
    var simulatorURL: String { "http://127.0.0.1:\(simulatorPort)" }

    /// The sender syncs the catalog when it starts; wait for it.
    func waitForTemplates() async throws {
        try await eventually("templates synced by the sender") {
            try await self.count("SELECT 1 FROM templates WHERE status = 'APPROVED'") >= 6
        }
    }

    func sendTemplate(
        to: String, name: String, language: String = "en_US", variables: String = "{}", key: String? = nil,
        extra: String = ""
    ) async throws -> HTTPResult {
        let keyField = key.map { #","idempotency_key":"\#($0)""# } ?? ""
        return try await api(
            .POST, "/messages",
            body:
                #"{"to":"+\#(to)","template":{"name":"\#(name)","language":"\#(language)","variables":\#(variables)}\#(keyField)\#(extra)}"#
        )
    }

    /// hello_world: an approved template without variables, allowed outside the window.
    func sendHello(to: String) async throws -> String {
        try await waitForTemplates()
        let sent = try await sendTemplate(to: to, name: "hello_world")
        #expect(sent.status == 202, "\(sent.body)")
        return try #require(sent.json?["request_id"]?.stringValue)
    }

    /// Polls `GET /sends/{id}` until its state is `state`; returns the last answer.
    @discardableResult
    func waitForSend(_ requestId: String, state: String, timeout: Duration = .seconds(40)) async throws -> JSONValue {
        var last: JSONValue?
        do {
            try await eventually("send \(requestId) to be \(state)", timeout: timeout) {
                last = try await self.api(.GET, "/sends/\(requestId)").json
                return last?["state"]?.stringValue == state
            }
        } catch {
            Issue.record("last state: \(last.map { "\($0)" } ?? "none")")
            throw error
        }
        return try #require(last)
    }

    func simulatorStats() async throws -> JSONValue {
        try #require(try await HTTP.request(.GET, "\(simulatorURL)/_sim/stats").json)
    }

    /// Sends the simulator has seen (accepted + rejected).
    func simulatorRequests() async throws -> Int {
        let s = try await simulatorStats()
        return Int(s["accepted"]?.doubleValue ?? 0) + Int(s["rejected_total"]?.doubleValue ?? 0)
    }

    func setSimulatorFaults(_ spec: String) async throws {
        let r = try await HTTP.request(.POST, "\(simulatorURL)/_sim/faults", body: Array(spec.utf8))
        #expect(r.status == 200, "\(r.body)")
    }
}

extension JSONValue {
    var attemptDecisions: [String] {
        self["attempts"]?.arrayValue.compactMap { $0["decision"]?.stringValue } ?? []
    }
}
