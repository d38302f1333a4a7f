import Foundation
import WireModels

/// Why a send is refused before any HTTP call. `code` is machine-readable (API error code,
/// stored in `send_requests.blocked_reason` as `code: message`).
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// A send that passed the gate: what to send, to whom, as which category.
public struct SendPlan: Sendable {
    public var request: OutboundRequest
    public var recipient: Recipient
    public var template: TemplateRecord?
    /// Resolved values by variable id (template sends).
    public var values: [String: String]

    public var isTemplate: Bool { template != nil }
}

/// The policy gate, run by the API (synchronously: the caller gets 422 with the reason) and
/// again by the sender right before the HTTP call (the facts may have changed in between, and
/// requests from other producers — auto-replies, campaigns — reach the sender directly).
///
/// Checks, in order: test sends only to test recipients; a template exists, is APPROVED in
/// that language and every variable has a valid value; opted-out contacts get no MARKETING
/// template; free-form text only inside the 24 h customer-service window.
public enum PolicyGate {
    /// The decision itself, free of I/O (unit-tested).
    public static func evaluate(
        _ request: OutboundRequest, recipient: Recipient, template: TemplateRecord?, now: Date = Date()
    ) -> Result<SendPlan, Refusal> {
        if request.test && !recipient.isTestRecipient {
            return .failure(
                Refusal(
                    "not_a_test_recipient",
                    "test sends go only to configured test recipients; +\(request.to) is not one"))
        }
        if let wanted = request.template {
            guard let template else {
                return .failure(
                    Refusal("template_not_found", "template \(wanted.name) in \(wanted.language) is unknown"))
            }
            guard template.status == "APPROVED" else {
                return .failure(
                    Refusal(
                        "template_not_approved",
                        "template \(template.name) in \(template.language) is \(template.status), not APPROVED"))
            }
            let missing = template.missing(in: wanted.variables)
            if !missing.isEmpty {
                return .failure(
                    Refusal(
                        "variables_unresolved",
                        "no value for \(missing.joined(separator: ", ")) (not given and not resolvable from the mapping)"
                    ))
            }
            let invalid = template.valueProblems(in: wanted.variables)
            if !invalid.isEmpty { return .failure(Refusal("variables_invalid", invalid.joined(separator: "; "))) }
            if template.isMarketing && recipient.optedOut {
                return .failure(
                    Refusal(
                        "opted_out", "+\(request.to) opted out: no marketing templates (\(template.name) is MARKETING)")
                )
            }
            return .success(
                SendPlan(request: request, recipient: recipient, template: template, values: wanted.variables))
        }
        guard let text = request.text, !text.isEmpty else {
            return .failure(Refusal("nothing_to_send", "a send needs text or a template"))
        }
        guard recipient.insideServiceWindow(now: now) else {
            let since =
                recipient.lastInboundAt.map { "their last message was at \(RFC3339.string(from: $0))" }
                ?? "they never wrote to us"
            return .failure(
                Refusal(
                    "outside_service_window",
                    "free-form text only within 24 h of the customer's last message (\(since)); send an approved template"
                ))
        }
        return .success(SendPlan(request: request, recipient: recipient, template: nil, values: [:]))
    }
}
