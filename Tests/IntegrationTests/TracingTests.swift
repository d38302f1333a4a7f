import Foundation
import Testing

/// One customer's message and the automated reply it triggers, followed by one trace id: the
/// caller's `traceparent` is continued by the gateway, carried in Kafka headers and outbox rows
/// through the normalizer, crm-matcher (activities, the workflow's send) and the sender, to the
/// reporter applying the reply's delivery statuses; every service logs it, the `crm.activity`
/// events carry it, and every service exports its spans over OTLP/HTTP.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct TracingTests {
    /// Spans the receiver got, as (service.name, trace id in hex, span name).
    static func spans(_ receiver: WebhookReceiver) -> [(service: String, traceId: String, name: String)] {
        var out: [(String, String, String)] = []
        for request in receiver.received {
            guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
                continue
            }
            for resource in body["resourceSpans"] as? [[String: Any]] ?? [] {
                let attributes = (resource["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
                let service =
                    attributes.first { $0["key"] as? String == "service.name" }
                    .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String } ?? "?"
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        out.append((service, hex(span["traceId"] as? String ?? ""), span["name"] as? String ?? ""))
                    }
                }
            }
        }
        return out
    }

    /// OTLP/JSON ids are hex by the spec; protobuf's JSON mapping writes bytes as base64.
    static func hex(_ id: String) -> String {
        if id.count == 32, id.allSatisfy(\.isHexDigit) { return id.lowercased() }
        guard let bytes = Data(base64Encoded: id) else { return id }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Exporting (spans recorded by swift-otel, sent to the receiver) and not (ids only, made
    /// by string work): the same trace id in the same places either way.
    @Test(arguments: [true, false])
    func oneInboundMessageAndItsAutomatedReplyAreFollowedByOneTraceId(exporting: Bool) async throws {
        let receiver = try await WebhookReceiver()
        defer { receiver.stop() }
        var settings = ["LOG_LEVEL": "debug"]
        if exporting {
            settings["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.url
            settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
            settings["OTEL_BSP_SCHEDULE_DELAY"] = "200"
        }
        try await E2EStack.with(simulatorPostsStatuses: true, settings: settings) { stack in
            #expect(try await stack.api(.POST, "/templates/sync").status == 200)
            let created = try await stack.api(
                .POST, "/workflow-rules",
                body: """
                    {"name":"menu","trigger":{"type":"keyword","keywords":["menu"]},
                     "actions":[{"type":"send_template","name":"hello_world","language":"en_US"}]}
                    """)
            #expect(created.status == 201, "\(created.body)")
            let ruleId = try #require(created.json?["id"]?.stringValue)

            // The caller's trace (a proxy in front of the gateway, say) is continued, not replaced.
            let traceId = (0..<32).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
            let customer = Payloads.newNumber()
            let wamid = Payloads.newWamid()
            let body = Payloads.notification([
                Payloads.inboundText(wamid: wamid, from: customer, name: "Ana", text: "menu")
            ])
            let posted = try await stack.postWebhook(
                body, headers: [("traceparent", "00-\(traceId)-00f067aa0ba902b7-01")])
            #expect(posted.status == 200)
            try await eventually("the reply went out and was delivered", timeout: .seconds(60)) {
                try await stack.count(
                    """
                    SELECT 1 FROM send_requests s JOIN messages m ON m.send_request_id = s.request_id
                    WHERE s.requested_by = 'workflow:\(ruleId)' AND s.state = 'sent' AND m.status IN ('delivered', 'read')
                    """) == 1
            }

            // Stored where the trace crosses a table, and on the activity events.
            #expect(
                try await stack.count(
                    "SELECT 1 FROM crm_activity WHERE trace_parent LIKE '00-\(traceId)-%' AND published_at IS NOT NULL")
                    >= 2)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM send_requests WHERE requested_by = 'workflow:\(ruleId)' AND trace_parent LIKE '00-\(traceId)-%'"
                )
                    == 1)
            #expect(
                try await stack.count(
                    "SELECT 1 FROM messages WHERE direction = 'outbound' AND trace_parent LIKE '00-\(traceId)-%'") == 1)

            // Every service's log, by the one id.
            let lines: [String: [String]] = stack.processes.mapValues { process in
                ((try? String(contentsOf: process.logURL, encoding: .utf8)) ?? "").split(separator: "\n")
                    .map(String.init).filter { $0.contains(#""trace_id":"\#(traceId)""#) }
            }
            for (service, message) in [
                ("gateway", "webhook accepted"), ("normalizer", "normalized"),
                ("crm-matcher", "inbound message stored"),
                ("crm-matcher", "workflow rule executed"), ("sender", #""msg":"sent""#), ("reporter", "status applied"),
            ] {
                #expect(
                    lines[service, default: []].contains { $0.contains(message) },
                    "\(service) logged no '\(message)' with trace_id \(traceId):\n\(stack.processes[service]?.logTail(15) ?? "")"
                )
            }

            // An API caller's trace goes on with the send it asks for.
            let apiTrace = (0..<32).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
            let asked = try await stack.api(
                .POST, "/messages",
                body: #"{"to":"+\#(Payloads.newNumber())","template":{"name":"hello_world","language":"en_US"}}"#,
                headers: [("traceparent", "00-\(apiTrace)-00f067aa0ba902b7-01")])
            #expect(asked.status == 202, "\(asked.body)")
            let requestId = try #require(asked.json?["request_id"]?.stringValue)
            _ = try await stack.waitForSend(requestId, state: "sent")
            #expect(
                try await stack.count(
                    "SELECT 1 FROM send_requests WHERE request_id = '\(requestId)' AND trace_parent LIKE '00-\(apiTrace)-%'"
                )
                    == 1)
            let senderLog = (try? String(contentsOf: stack.processes["sender"]!.logURL, encoding: .utf8)) ?? ""
            #expect(
                senderLog.split(separator: "\n").contains {
                    $0.contains(#""trace_id":"\#(apiTrace)""#) && $0.contains(#""msg":"sent""#)
                })

            guard exporting else {
                try await Task.sleep(for: .seconds(1))
                #expect(receiver.received.isEmpty, "nothing is exported without an endpoint")
                return
            }
            // Every service's spans, in that trace, at the OTLP endpoint.
            var seen: Set<String> = []
            do {
                try await eventually("spans of every service exported", timeout: .seconds(20)) {
                    seen = Set(Self.spans(receiver).filter { $0.traceId == traceId }.map(\.service))
                    return seen.isSuperset(of: ["gateway", "normalizer", "crm-matcher", "sender", "reporter"])
                }
            } catch {
                Issue.record(
                    "services with spans in trace \(traceId): \(seen.sorted()); all: \(Self.spans(receiver).count)")
            }
            let names = Set(Self.spans(receiver).filter { $0.traceId == traceId }.map(\.name))
            for name in ["webhook receive", "normalize", "match inbound message", "POST /messages", "apply status"] {
                #expect(names.contains(name), "no span '\(name)' in \(names.sorted())")
            }
        }
    }
}
