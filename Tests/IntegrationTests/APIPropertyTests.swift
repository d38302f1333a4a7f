import Foundation
import Hummingbird
import Testing
import WireModels

/// Property-based API testing from the published OpenAPI document: schemathesis (installed into
/// the project venv by `make test`, `CRM_SCHEMATHESIS`) generates requests for every operation
/// of a running gateway, valid and invalid, with an admin's token and then an agent's, and
/// checks every answer: no 5xx, status, content type, headers and body as documented, invalid
/// input refused, valid input accepted, undeclared methods refused, authentication not ignored.
/// `API_FUZZ_EXAMPLES` sets the examples per operation (`make test` 20, `make test-api` 100);
/// the reports are kept under `.data/api-fuzz/`.
@Suite(.serialized, .timeLimit(.minutes(20)))
struct APIPropertyTests {
    @Test func everyOperationAnswersAsDocumentedForAnAdminAndAnAgent() async throws {
        let environment = ProcessInfo.processInfo.environment
        let binary = URL(
            fileURLWithPath: try #require(
                environment["CRM_SCHEMATHESIS"], "CRM_SCHEMATHESIS is set by `make test` (schemathesis in .venv)"))
        let examples = environment["API_FUZZ_EXAMPLES"] ?? "20"
        let reports = URL(fileURLWithPath: environment["API_FUZZ_REPORTS"] ?? NSTemporaryDirectory())
            .appendingPathComponent("api-fuzz")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        try await E2EStack.with { stack in
            // Tokens of users of their own: the stateful phase may revoke the tokens it can
            // list or deactivate users; the stack's bootstrap token stays out of its reach.
            let admin = try await stack.userToken(role: "admin", name: "Fuzz Admin")
            let agent = try await stack.userToken(role: "agent", name: "Fuzz Agent")
            // Something to read: a contact with a conversation, owned by nobody in particular.
            #expect(
                try await stack.postInboundText(wamid: Payloads.newWamid(), from: Payloads.newNumber(), text: "hi")
                    == 200)
            // Revoking a token or changing a user can lock the caller out (its own token, its own
            // account): those two operations run last, on their own, after everything else.
            let lockOut = ["delete_api_v1_tokens_{id}", "patch_api_v1_users_{id}"]
            let passes: [(name: String, filter: [String])] = [
                ("rest", lockOut.flatMap { ["--exclude-operation-id", $0] }),
                ("lock-out", lockOut.flatMap { ["--include-operation-id", $0] }),
            ]
            for (role, token) in [("admin", admin), ("agent", agent)] {
                for pass in passes {
                    let name = "\(role)-\(pass.name)"
                    let run = try ServiceProcess(
                        binDir: binary.deletingLastPathComponent().path, name: name,
                        binary: binary.lastPathComponent,
                        // Plain output, no progress bars, no telemetry.
                        environment: ["SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1", "COLUMNS": "160"],
                        logDir: reports,
                        arguments: Self.arguments(
                            schema: "\(stack.gatewayURL)/api/v1/openapi.json", token: token, examples: examples,
                            report: reports.appendingPathComponent("\(name).xml")) + pass.filter,
                        // Its cache (`.schemathesis/`) goes beside the reports, not into the checkout.
                        currentDirectory: reports, logFile: "\(name).log")
                    let status: Int32
                    do {
                        status = try await run.waitForExit(timeout: .seconds(480)).status
                    } catch {
                        await run.stop()
                        throw error
                    }
                    let output = run.logTail(400)
                    print("schemathesis as \(role), \(pass.name) (\(examples) examples each):\n\(Self.summary(output))")
                    #expect(status == 0, "schemathesis as \(role) found problems:\n\(output.suffix(12_000))")
                    if pass.name == "rest" {
                        #expect(
                            try await stack.api(.GET, "/contacts", token: token).status == 200,
                            "the \(role)'s token stopped working during the run")
                    }
                }
            }
        }
    }

    static func arguments(schema: String, token: String, examples: String, report: URL) -> [String] {
        [
            "run", schema, "--checks", "all", "--exclude-checks", "positive_data_acceptance", "--header",
            "Authorization: Bearer \(token)", "--max-examples", examples, "--seed", "20261205", "--workers", "1",
            "--request-timeout", "10", "--report", "junit", "--report-junit-path", report.path, "--no-color",
            "--output-truncate", "false",
        ]
    }

    /// The run's closing lines (operations, test cases, failures) without the per-case detail.
    static func summary(_ output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.lastIndex(where: { $0.contains("SUMMARY") }) else {
            return lines.suffix(15).joined(separator: "\n")
        }
        return lines[start...].joined(separator: "\n")
    }
}

/// What schemathesis found, each kept as a test of its own (in-process router, real PostgreSQL).
@Suite(.timeLimit(.minutes(2)))
struct APIPropertyFindingsTests {
    /// An undeclared method on a documented path was the router's 404; it is a 405 with `Allow`.
    /// An unknown path stays 404, and so does a handler's own "no such record".
    @Test func aMethodThePathDoesNotTakeIs405WithAllow() async throws {
        try await APIHarness.run { h, c in
            for (method, path, allow) in [
                (HTTPRequest.Method.delete, "/api/v1/contacts", "GET"),
                (.trace, "/api/v1/users", "GET, POST"),
                (.put, "/api/v1/users/\(UUID())", "PATCH"),
                (.get, "/api/v1/templates/sync", "POST"),
                (.post, "/healthz", "GET"),
                (.delete, "/webhooks/whatsapp", "GET, POST"),
            ] {
                let r = try await h.call(c, method, path, token: h.adminToken)
                #expect(r.status == .methodNotAllowed, "\(method) \(path): \(r.status) \(r.text)")
                #expect(r.headers[.allow] == allow, "\(method) \(path)")
                #expect(r["error"]?["code"]?.stringValue == "method_not_allowed", "\(r.text)")
            }
            #expect(try await h.call(c, .get, "/api/v1/no-such-list", token: h.adminToken).status == .notFound)
            let missing = try await h.call(c, .get, "/api/v1/accounts/\(UUID())", token: h.adminToken)
            #expect(missing.status == .notFound)
            #expect(missing["error"]?["code"]?.stringValue == "not_found")
        }
    }

    /// A typed query parameter sent empty (`?as_of=`) was taken as absent; it is refused like
    /// any other value that is not of its type. (Free-text filters still treat empty as absent.)
    @Test func aTypedQueryParameterSentEmptyIs400() async throws {
        try await APIHarness.run { h, c in
            for (path, field) in [
                ("/api/v1/reports/tasks-past-due?as_of=", "as_of"),
                ("/api/v1/messages?since=", "since"),
                ("/api/v1/messages?contact_id=", "contact_id"),
                ("/api/v1/messages?direction=", "direction"),
                ("/api/v1/tasks?contact_id=", "contact_id"),
            ] {
                let r = try await h.call(c, .get, path, token: h.adminToken)
                #expect(r.status == .badRequest, "\(path): \(r.status) \(r.text)")
                #expect(r.badFields == [field], "\(path): \(r.text)")
            }
            #expect(try await h.call(c, .get, "/api/v1/audit-log?entity=", token: h.adminToken).status == .ok)
            // `format` too, and only as documented (json, csv).
            for path in ["/api/v1/reports/tasks-past-due?format=", "/api/v1/messages?format=CSV"] {
                let r = try await h.call(c, .get, path, token: h.adminToken)
                #expect(r.status == .badRequest && r.badFields == ["format"], "\(path): \(r.text)")
            }
        }
    }

    /// A whole number past Int64 where a string was expected (`"events": [1.27e36]`) trapped in
    /// `JSONValue.stringValue` and took the gateway down for everyone. It is a field problem.
    @Test func aHugeNumberWhereAStringBelongsIs400NotACrash() async throws {
        #expect(JSONValue.number(1.272386173458209e36).stringValue == "1.272386173458209e+36")
        #expect(JSONValue.number(-9.3e18).stringValue == "-9.3e+18")
        #expect(JSONValue.number(42).stringValue == "42")
        try await APIHarness.run { h, c in
            let huge = #"1272386173458209475682791147438080"#
            for (path, body) in [
                ("/api/v1/outbound-webhooks", #"{"url": "https://example.com/h", "events": [\#(huge)]}"#),
                ("/api/v1/outbound-webhooks", #"{"url": \#(huge), "events": ["message.received"]}"#),
                ("/api/v1/users", #"{"name": \#(huge), "role": "agent"}"#),
                ("/api/v1/contacts", #"{"phone": \#(huge)}"#),
            ] {
                let r = try await h.call(c, .post, path, token: h.adminToken, raw: body)
                #expect(r.status.code < 500, "\(path) \(body): \(r.status) \(r.text)")
            }
        }
    }

    /// Contacts, leads and sends answered 400s with the problems joined into the message only;
    /// every 400 now lists each bad field in `fields`, as the document's Error says.
    @Test func every400ListsItsFields() async throws {
        try await APIHarness.run { h, c in
            let id = UUID()
            for (method, path, body, fields) in [
                (HTTPRequest.Method.get, "/api/v1/contacts?owner_id=x&limit=0", nil, ["limit", "owner_id"]),
                (.get, "/api/v1/leads?status=maybe&contact_id=1", nil, ["contact_id", "status"]),
                (.get, "/api/v1/contacts/\(id)/timeline?cursor=x", nil, ["cursor"]),
                (
                    .patch, "/api/v1/contacts/\(id)", #"{"name": 5, "tags": "x", "opted_out": 1, "color": "red"}"#,
                    ["color", "name", "opted_out", "tags"]
                ),
                (
                    .patch, "/api/v1/leads/\(id)", #"{"status": "maybe", "stage": "", "owner_id": "me"}"#,
                    ["owner_id", "stage", "status"]
                ),
                (
                    .post, "/api/v1/messages", #"{"to": "x", "idempotency_key": "campaign:1"}"#,
                    ["idempotency_key", "text", "to"]
                ),
            ] {
                let r = try await h.call(c, method, path, token: h.adminToken, raw: body)
                #expect(r.status == .badRequest, "\(method) \(path): \(r.status) \(r.text)")
                #expect(Set(r.badFields) == Set(fields), "\(method) \(path): \(r.text)")
            }
        }
    }

    /// A NUL character in a query parameter reached PostgreSQL, which stores no NUL in text: a
    /// 500 (`GET /messages?template=…%00…`). Any NUL in an API path or query is a 400.
    @Test func aNULInTheQueryOrPathIs400() async throws {
        try await APIHarness.run { h, c in
            for (path, field) in [
                ("/api/v1/messages?template=a%00b", "template"), ("/api/v1/contacts?q=%00", "q"),
                ("/api/v1/audit-log?entity=x%00", "entity"),
            ] {
                let r = try await h.call(c, .get, path, token: h.adminToken)
                #expect(r.status == .badRequest, "\(path): \(r.status) \(r.text)")
                #expect(r.badFields == [field], "\(path): \(r.text)")
            }
            for (path, field) in [("/api/v1/templates/hello%00/en_US/test-send", "path")] {
                let r = try await h.call(c, .post, path, token: h.adminToken)
                #expect(r.status == .badRequest, "\(path): \(r.status) \(r.text)")
                #expect(r.badFields == [field], "\(path): \(r.text)")
            }
        }
    }

    /// Statuses and content types the API answers with are in its document: a test send without
    /// test recipients (409), the message log as CSV, the audit log's `actor` (a user id or
    /// `crmctl`, not only a UUID).
    @Test func whatTheAPIAnswersIsDocumented() async throws {
        try await APIHarness.run { h, c in
            let doc = try #require(try await h.call(c, .get, "/api/v1/openapi.json", token: nil).json)
            let paths = try #require(doc["paths"])
            let testSend = paths["/api/v1/templates/{name}/{language}/test-send"]?["post"]?["responses"]
            #expect(testSend?["409"] != nil)
            let sent = try await h.call(c, .post, "/api/v1/templates/hello_world/en_US/test-send", token: h.adminToken)
            #expect([.conflict, .notFound].contains(sent.status), "\(sent.status) \(sent.text)")
            let log = paths["/api/v1/messages"]?["get"]?["responses"]?["200"]?["content"]
            #expect(log?["text/csv"] != nil && log?["application/json"] != nil)
            let csv = try await h.call(c, .get, "/api/v1/messages?format=csv", token: h.adminToken)
            #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let actor = paths["/api/v1/audit-log"]?["get"]?["parameters"]?.arrayValue.first {
                $0["name"]?.stringValue == "actor"
            }
            #expect(actor?["schema"]?["format"] == nil, "actor is not only a UUID")
            #expect(try await h.call(c, .get, "/api/v1/audit-log?actor=crmctl", token: h.adminToken).status == .ok)
            // A create body takes null for an optional field (as absent); PATCH does not say so.
            let create = paths["/api/v1/users"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]
            #expect(create?["properties"]?["email"]?["type"] == .array(["string", "null"]))
            #expect(create?["properties"]?["name"]?["type"] == "string")
            let created = try await h.call(
                c, .post, "/api/v1/users", token: h.adminToken, raw: #"{"name": "Nul", "role": "agent", "email": null}"#
            )
            #expect(created.status == .created, "\(created.text)")
        }
    }
}
