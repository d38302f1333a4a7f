import Foundation
import Hummingbird
import Logging
import Outbound
import Synchronization
import Testing
import WireModels

/// A caller cannot steer the Graph calls made with the business's token: a phone number id
/// must be digits and one of ours, in a send and in a campaign, or the request is a 400.
@Suite(.timeLimit(.minutes(2)))
struct SteeringTests {
    @Test func onlyAConfiguredPhoneNumberIdIsAccepted() async throws {
        try await APIHarness.run { h, c in
            func send(_ phoneNumberId: String) async throws -> APIHarness.Reply {
                try await h.call(
                    c, .post, "/api/v1/messages", token: h.adminToken,
                    body: [
                        "to": "+5511987650001", "text": "hi", "phone_number_id": .string(phoneNumberId),
                    ])
            }
            for steering in ["123/subscribed_apps?x=y#", "../v1/me", "12 34", "1%2F2", ""] {
                let r = try await send(steering)
                #expect(r.status == .badRequest, "\(steering): \(r.text)")
                #expect(r.text.contains("phone_number_id"), "\(steering): \(r.text)")
            }
            let unknown = try await send("999999")
            #expect(unknown.status == .badRequest)
            #expect(unknown.text.contains("999999 is not a configured phone number"), "\(unknown.text)")
            #expect(try await h.db.count("SELECT 1 FROM send_requests") == 0)

            let account = try await h.call(
                c, .post, "/api/v1/accounts", token: h.adminToken, body: ["waba_id": "1001", "name": "Main"])
            let accountId = try #require(account["id"]?.stringValue)
            let number = try await h.call(
                c, .post, "/api/v1/phone-numbers", token: h.adminToken,
                body: ["phone_number_id": "2002", "account_id": .string(accountId)])
            #expect(number.status == .created, "\(number.text)")
            // A known number passes this check (the policy gate then judges the send itself).
            let known = try await send("2002")
            #expect(known.status != .badRequest, "\(known.text)")

            for (id, problem) in [("123/x?y#", "the digits of"), ("31337", "31337 is not a configured")] {
                let campaign = try await h.call(
                    c, .post, "/api/v1/campaigns", token: h.adminToken,
                    body: [
                        "name": "c", "template": "hello_world", "language": "en_US", "phone_number_id": .string(id),
                        "audience": ["filters": [:]],
                    ])
                #expect(campaign.status == .badRequest, "\(campaign.text)")
                #expect(campaign.badFields.contains("phone_number_id"), "\(campaign.text)")
                #expect(campaign.text.contains(problem), "\(campaign.text)")
            }
        }
    }

    @Test func internalRequestIdsAndManagersFieldsAreNotForCallers() async throws {
        try await APIHarness.run { h, c in
            for key in ["campaign:6f1c2a4e-0000-4000-8000-000000000001:5511987650001", "workflow:x:1:0"] {
                let r = try await h.call(
                    c, .post, "/api/v1/messages", token: h.adminToken,
                    body: ["to": "+5511987650001", "text": "hi", "idempotency_key": .string(key)])
                #expect(r.status == .badRequest, "\(r.text)")
                #expect(r.text.contains("is reserved for the CRM's own sends"), "\(r.text)")
            }
            let (_, agent) = try await h.user(c, role: "agent", name: "Ana")
            for extra: (String, JSONValue) in [
                ("campaign_id", "6f1c2a4e-0000-4000-8000-000000000001"), ("test", true),
            ] {
                let r = try await h.call(
                    c, .post, "/api/v1/messages", token: agent,
                    body: .object(["to": "+5511987650001", "text": "hi", extra.0: extra.1]))
                #expect(r.status == .forbidden, "\(extra.0): \(r.text)")
                #expect(r.text.contains("an agent cannot set campaign_id or test"), "\(r.text)")
            }
            #expect(try await h.db.count("SELECT 1 FROM send_requests") == 0)
        }
    }

    @Test func graphURLSegmentsArePercentEncoded() {
        #expect(GraphID.pathSegment("123/subscribed_apps?x=y#") == "123%2Fsubscribed_apps%3Fx%3Dy%23")
        #expect(GraphID.pathSegment("v21.0") == "v21.0")
        #expect(GraphID.pathSegment("ä") == "%C3%A4")
        #expect(GraphID.isValid("100000000000002"))
        for bad in ["", "12a", "1 2", "1/2", String(repeating: "1", count: 33), "١٢"] { #expect(!GraphID.isValid(bad)) }
    }

    /// The template listing follows Meta's `paging.next` with the business's token only while
    /// it stays on the listing it started; a `next` pointing elsewhere ends the paging.
    @Test func templatePagingNeverTakesTheTokenElsewhere() async throws {
        let port = freePort()
        let base = "http://127.0.0.1:\(port)"
        let stolen = Mutex<[String]>([])
        let router = Router()
        router.get("v21.0/123/message_templates") { request, _ -> Response in
            let next =
                request.uri.queryParameters["after"] == nil
                ? "\(base)/v21.0/123/message_templates?after=p2&limit=100"
                : "\(base)/v21.0/123/subscribed_apps?message_templates"
            let body = #"{"data":[],"paging":{"next":"\#(next)"}}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("v21.0/123/subscribed_apps") { request, _ -> String in
            stolen.withLock { $0.append(request.headers[.authorization] ?? "") }
            return "{}"
        }
        var quiet = Logger(label: "graph-double")
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        try await eventually("listening") {
            (try? await HTTP.request(.GET, "\(base)/v21.0/123/message_templates").status) == 200
        }
        let sync = TemplateSync(baseURL: base, version: "v21.0", wabaId: "123", accessToken: "business-token")
        let (templates, pages) = try await sync.fetchAll()
        #expect(templates.isEmpty)
        #expect(pages == 2, "the listing's own next page is followed, the foreign one is not")
        #expect(stolen.withLock { $0 }.isEmpty)
    }
}
