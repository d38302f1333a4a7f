import Foundation
import NIOHTTP1
import Storage
import Testing

/// Secrets never reach a log line or an API answer. The stack runs with distinctive values for
/// every secret it is given (Meta's access token, app secret and verify token, the bootstrap
/// API token, the encryption key), the API stores more (an account's token, secret and verify
/// token, an outbound-webhook signing secret, a new API token), and a flow touches every path
/// that handles them: signed and badly signed webhooks, the verification handshake, template
/// sync and sends with the token, a send Meta refuses, account and endpoint reads and edits.
/// Then every service's log and every answer is searched for each value.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct SecretLeakTests {
    @Test func noSecretAppearsInAnyLogOrAPIResponse() async throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let env = [
            "WHATSAPP_ACCESS_TOKEN": "EAAleakprobeaccess\(tag)", "WHATSAPP_APP_SECRET": "leakprobeappsecret\(tag)",
            "WHATSAPP_VERIFY_TOKEN": "leakprobeverify\(tag)", "CRM_BOOTSTRAP_TOKEN": "leakprobebootstrap\(tag)",
            "CRM_SECRET_KEY": SecretBox.generateKey(), "LOG_LEVEL": "debug",
        ]
        let stored = [
            "leakprobestoredtoken\(tag)", "leakprobestoredsecret\(tag)", "leakprobestoredverify\(tag)",
            "leakprobehooksecret\(tag)",
        ]
        let admin = env["CRM_BOOTSTRAP_TOKEN"]!
        try await E2EStack.with(simulatorPostsStatuses: true, settings: env) { stack in
            var answers: [String] = []
            func api(_ method: NIOHTTP1.HTTPMethod, _ path: String, _ body: String? = nil) async throws -> HTTPResult {
                let r = try await stack.api(method, path, body: body, token: admin)
                answers.append("\(method) \(path) → \(r.status) \(r.body)")
                return r
            }

            // Meta's side: the handshake, a signed webhook, a forged one, a wrong verify token.
            let handshake = try await HTTP.request(
                .GET,
                "\(stack.gatewayURL)/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=\(env["WHATSAPP_VERIFY_TOKEN"]!)&hub.challenge=42"
            )
            #expect(handshake.status == 200 && handshake.body == "42")
            let wrong = try await HTTP.request(
                .GET, "\(stack.gatewayURL)/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
            answers.append(wrong.body)
            let body = Payloads.notification([
                Payloads.inboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), name: "Ana", text: "hi")
            ])
            let signed = try await stack.postWebhook(
                body, signature: HTTP.signature(body, secret: env["WHATSAPP_APP_SECRET"]!))
            #expect(signed.status == 200, "\(signed.body)")
            let forged = try await stack.postWebhook(body, signature: HTTP.signature(body, secret: "guess"))
            #expect(forged.status == 401)
            answers += [signed.body, forged.body]

            // The token at work: template sync, a send that goes, one Meta refuses.
            #expect(try await api(.POST, "/templates/sync").status == 200)
            let refused = Payloads.newNumber()
            try await stack.setSimulatorFaults("*\(refused.suffix(6))=190")
            for to in [Payloads.newNumber(), refused] {
                let r = try await api(
                    .POST, "/messages", #"{"to":"+\#(to)","template":{"name":"hello_world","language":"en_US"}}"#)
                #expect(r.status == 202, "\(r.body)")
                if let id = r.json?["request_id"]?.stringValue {
                    let wanted = to == refused ? "retrying" : "sent"
                    try await eventually("send \(id) \(wanted)", timeout: .seconds(30)) {
                        try await stack.api(.GET, "/sends/\(id)", token: admin).json?["state"]?.stringValue == wanted
                    }
                    answers.append(try await api(.GET, "/sends/\(id)").body)
                }
            }

            // Secrets stored through the API: write-only, sealed.
            let account = try await api(
                .POST, "/accounts",
                #"{"waba_id":"900\#(tag.filter(\.isNumber).prefix(6))","name":"Leak probe","access_token":"\#(stored[0])","app_secret":"\#(stored[1])","verify_token":"\#(stored[2])"}"#
            )
            #expect(account.status == 201, "\(account.body)")
            if let id = account.json?["id"]?.stringValue {
                _ = try await api(.GET, "/accounts/\(id)")
                _ = try await api(.PATCH, "/accounts/\(id)", #"{"access_token":"\#(stored[0])x"}"#)
                _ = try await api(.PATCH, "/accounts/\(id)", #"{"access_token":42}"#)
            }
            _ = try await api(.GET, "/accounts")
            let hook = try await api(
                .POST, "/outbound-webhooks",
                #"{"url":"http://127.0.0.1:9/hook","events":["*"],"secret":"\#(stored[3])"}"#)
            #expect(hook.status == 201, "\(hook.body)")
            if let id = hook.json?["id"]?.stringValue {
                _ = try await api(.GET, "/outbound-webhooks/\(id)/deliveries")
                _ = try await api(.PATCH, "/outbound-webhooks/\(id)", #"{"secret":"short"}"#)
            }
            _ = try await api(.GET, "/outbound-webhooks")
            // A new API token is answered once, at creation; never again.
            let token = try await api(.POST, "/tokens", #"{"name":"leak probe"}"#)
            #expect(token.status == 201, "\(token.body)")
            let issued = try #require(token.json?["token"]?.stringValue)
            answers.removeLast()
            _ = try await api(.GET, "/tokens")
            _ = try await api(.GET, "/audit-log")
            _ = try await api(.GET, "/openapi.json")
            try await Task.sleep(for: .seconds(2))

            let secrets =
                [
                    env["WHATSAPP_ACCESS_TOKEN"]!, env["WHATSAPP_APP_SECRET"]!, env["WHATSAPP_VERIFY_TOKEN"]!, admin,
                    env["CRM_SECRET_KEY"]!, issued,
                ] + stored
            let logs = try FileManager.default.contentsOfDirectory(at: stack.logDir, includingPropertiesForKeys: nil)
            #expect(logs.count >= 6, "\(logs)")
            for file in logs {
                let text = try String(contentsOf: file, encoding: .utf8)
                #expect(!text.isEmpty)
                for secret in secrets where text.contains(secret) {
                    let line = text.split(separator: "\n").first { $0.contains(secret) } ?? ""
                    Issue.record("\(file.lastPathComponent) logs a secret: \(line.prefix(300))")
                }
            }
            #expect(answers.count > 15)
            for answer in answers {
                for secret in secrets where answer.contains(secret) {
                    Issue.record("an API answer carries a secret: \(answer.prefix(300))")
                }
            }
        }
    }
}
