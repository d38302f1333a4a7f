import Foundation
import NormalizerService
import Testing
import WireModels

/// Every fixture body (Meta's documented shapes, from pywa's test data) goes through the
/// normalizer: nothing crashes, every item becomes an event or a named problem.
@Suite struct WebhookNormalizerTests {
    static let fixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/meta-webhooks-pywa").standardized

    static func fixtures() throws -> [(name: String, body: [UInt8])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtureDir.path).filter {
            $0.hasSuffix(".json")
        }.sorted()
        var out: [(String, [UInt8])] = []
        for file in files {
            let data = try Data(contentsOf: fixtureDir.appendingPathComponent(file))
            guard case .object(let examples) = try JSONDecoder().decode(JSONValue.self, from: data) else { continue }
            for (name, body) in examples.sorted(by: { $0.key < $1.key }) {
                out.append(("\(file)#\(name)", Array(try JSONCoding.encoder().encode(body))))
            }
        }
        return out
    }

    func normalize(_ file: String, _ example: String) throws -> WebhookNormalizer.Output {
        let body = try #require(try Self.fixtures().first { $0.name == "\(file)#\(example)" }?.body)
        return WebhookNormalizer().normalize(
            try WebhookBody(bytes: body), receivedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func everyFixtureIsAccountedFor() throws {
        let fixtures = try Self.fixtures()
        #expect(fixtures.count == 74)
        for (name, bytes) in fixtures {
            let body = try WebhookBody(bytes: bytes)
            let out = WebhookNormalizer().normalize(body, receivedAt: .now)
            var items = 0
            var others = 0
            for entry in body.entries {
                for change in entry["changes"]?.arrayValue ?? [] {
                    if change["field"]?.stringValue == "messages" {
                        items +=
                            (change["value"]?["messages"]?.arrayValue.count ?? 0)
                            + (change["value"]?["statuses"]?.arrayValue.count ?? 0)
                        if !(change["value"]?["errors"]?.arrayValue.isEmpty ?? true) { others += 1 }
                    } else {
                        others += 1
                    }
                }
            }
            let itemProblems = out.problems.filter { $0.contains(".messages[") || $0.contains(".statuses[") }.count
            #expect(out.messages.count + out.statuses.count + itemProblems == items, "\(name): \(out.problems)")
            #expect(out.templateEvents.count + out.accountEvents.count == others, "\(name)")
        }
    }

    @Test func textMessageCarriesContactAndMetaTimestamp() throws {
        let out = try normalize("message.json", "text")
        let m = try #require(out.messages.first)
        #expect(out.messages.count == 1 && out.problems.isEmpty)
        #expect(m.wamid == "wamid.xyzxyz")
        #expect(m.waId == "972987654321")
        #expect(m.userId == "US.13491208655302741918")
        #expect(m.profileName == "Test Name")
        #expect(m.phoneNumberId == "1122334455667")
        #expect(m.wabaId == "1234567890987654321")
        #expect(m.type == "text")
        #expect(m.text != nil)
        #expect(m.timestamp.timeIntervalSince1970 > 1_600_000_000)
    }

    @Test func replyKeepsContextAndReactionKeepsEmoji() throws {
        let reply = try #require(try normalize("message.json", "reply").messages.first)
        #expect(reply.contextId != nil)
        let reaction = try #require(try normalize("message.json", "reaction").messages.first)
        #expect(reaction.type == "reaction" && reaction.text == "😮")
    }

    @Test func statusesKeepPricingConversationAndErrors() throws {
        let sent = try #require(try normalize("message_status.json", "sent").statuses.first)
        #expect(sent.status == "sent" && sent.pricing != nil && sent.conversation != nil)
        #expect(sent.eventId == "wamid.xyzxyz:sent")
        let failed = try #require(try normalize("message_status.json", "failed").statuses.first)
        #expect(failed.status == "failed")
        #expect(!failed.errors.isEmpty)
        #expect(failed.eventId == "\(failed.wamid):failed:\(failed.errors[0].code)")
    }

    @Test func systemMessageWithoutContactsIsKept() throws {
        let out = try normalize("system.json", "phone_number_change")
        let m = try #require(out.messages.first)
        #expect(m.type == "system" && m.waId == "972987654321" && m.profileName == nil)
    }

    @Test func templateAndAccountChangesBecomeTheirEvents() throws {
        let template = try normalize("template_status_update.json", "approved")
        #expect(template.templateEvents.count == 1 && template.messages.isEmpty)
        #expect(template.templateEvents[0].event.field == "message_template_status_update")
        let account = try normalize("account_update.json", "account_deleted")
        #expect(account.accountEvents.count == 1)
    }

    @Test func placeholdersAndBrokenItemsAreRejectedWithoutLosingTheRest() throws {
        let body = Array(
            """
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
              "metadata":{"phone_number_id":"2"},
              "messages":[
                {"from":"5511987654321","id":"<WHATSAPP_MESSAGE_ID>","timestamp":"1700000000","type":"text","text":{"body":"x"}},
                {"from":"5511987654321","id":"wamid.OK","timestamp":"1700000000","type":"text","text":{"body":"ok"}},
                {"from":"5511987654321","id":"wamid.NOTS","type":"text"}],
              "statuses":[{"id":"wamid.S","status":"read","timestamp":"1700000001"},{"id":"wamid.S2","timestamp":"1"}]}}]},
              {"id":"3","changes":[{"field":"some_future_field","value":{"a":1}}]}]}
            """.utf8)
        let out = WebhookNormalizer().normalize(try WebhookBody(bytes: body), receivedAt: .now)
        #expect(out.messages.map(\.wamid) == ["wamid.OK"])
        #expect(out.statuses.map(\.wamid) == ["wamid.S"])
        #expect(out.problems.count == 3, "\(out.problems)")
        #expect(out.accountEvents.first?.event.field == "some_future_field")
    }

    @Test func gatewayRejectsWhatIsNotAWhatsAppNotification() {
        #expect(throws: WebhookBody.Problem.notJSON) { try WebhookBody(bytes: Array("{".utf8)) }
        #expect(throws: WebhookBody.Problem.notAnObject) { try WebhookBody(bytes: Array("[1]".utf8)) }
        #expect(throws: WebhookBody.Problem.wrongObject("page")) {
            try WebhookBody(bytes: Array(#"{"object":"page"}"#.utf8))
        }
    }
}
