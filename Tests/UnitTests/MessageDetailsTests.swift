import Foundation
import NormalizerService
import Testing
import WireModels

/// Each WhatsApp message type is read into its typed details.
@Suite struct MessageDetailsTests {
    func message(_ file: String, _ example: String) throws -> InboundMessage {
        let body = try #require(try WebhookNormalizerTests.fixtures().first { $0.name == "\(file)#\(example)" }?.body)
        let out = WebhookNormalizer().normalize(try WebhookBody(bytes: body), receivedAt: .now)
        return try #require(out.messages.first, "\(out.problems)")
    }

    @Test func adReferralIsKept() throws {
        let r = try #require(try message("message.json", "referral").details.referral)
        #expect(
            r.sourceId == "ADID" && r.sourceType == "ad or post" && r.headline == "AD_TITLE"
                && r.ctwaClid == "CTWA_CLID")
    }

    @Test func templateQuickReplyCarriesPayloadAndTheTemplateMessage() throws {
        let m = try message("callback_button.json", "quick_reply")
        #expect(
            m.details.reply
                == .init(
                    kind: "quick_reply", id: nil, title: "title", description: nil,
                    payload: "callback_data", responseJSON: nil))
        #expect(m.contextId == "wamid.xyzxyz==")
        #expect(m.text == "title")
    }

    @Test func listReplyAndFlowReply() throws {
        let list = try message("callback_selection.json", "callback")
        #expect(list.details.reply?.kind == "list_reply" && list.details.reply?.id == "callback_data")
        let flow = try message("flow_completion.json", "completion")
        #expect(flow.details.reply?.kind == "nfm_reply")
        #expect(flow.details.reply?.responseJSON?.contains("flow_token") == true)
        #expect(flow.text == "Sent")
    }

    @Test func mediaLocationAndForwarding() throws {
        let voice = try #require(try message("message.json", "voice").details.media)
        #expect(voice.voice && voice.mimeType?.hasPrefix("audio/ogg") == true && voice.id == "1234567890987654321")
        let document = try #require(try message("message.json", "document").details.media)
        #expect(document.id != nil)
        let location = try message("message.json", "current_location")
        #expect(location.details.location?.latitude == 12.25089 && location.details.context?.forwarded == true)
        let many = try message("message.json", "forwarded_many_times")
        #expect(many.details.context?.frequentlyForwarded == true)
    }

    @Test func reactionsIncludingRemoval() throws {
        let added = try #require(try message("message.json", "reaction").details.reaction)
        #expect(added.messageId == "wamid.yzxyzx=" && !added.removed)
        #expect(try message("message.json", "unreaction_empty").details.reaction?.removed == true)
        #expect(try message("message.json", "unreaction_no_emoji").details.reaction?.removed == true)
    }

    @Test func orderItems() throws {
        let order = try #require(try message("message.json", "order").details.order)
        #expect(order.catalogId == "354160437058781")
        #expect(order.items.map(\.productRetailerId) == ["HAMBURGER", "FRENCH_FRIES", "SODA"])
        #expect(order.items.first?.quantity == 3 && order.items.first?.currency == "ILS")
    }

    @Test func userChangedNumber() throws {
        let m = try message("system.json", "phone_number_change")
        #expect(m.details.system == .init(type: "user_changed_number", body: m.text, newWaId: "972912345678"))
    }

    @Test func editAndUnsupportedAndContacts() throws {
        let edit = try message("edited_message.json", "image")
        #expect(edit.type == "edit" && edit.details.originalMessageId?.hasPrefix("wamid.") == true)
        #expect(edit.text == "Updated image caption")
        let unsupported = try message("message.json", "unsupported")
        #expect(unsupported.details.errors.first?.code == 131051 && unsupported.details.known)
        let contacts = try message("message.json", "contacts")
        #expect(contacts.details.sharedContacts != nil)
    }

    @Test func requestWelcomeAndUnknownTypes() throws {
        let body = Array(
            """
            {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
              "metadata":{"phone_number_id":"2"},"contacts":[{"wa_id":"5511987654321","profile":{"name":"N"}}],
              "messages":[
                {"from":"5511987654321","id":"wamid.W","timestamp":"1700000000","type":"request_welcome"},
                {"from":"5511987654321","id":"wamid.U","timestamp":"1700000000","type":"hologram","hologram":{}}]}}]}]}
            """.utf8)
        let out = WebhookNormalizer().normalize(try WebhookBody(bytes: body), receivedAt: .now)
        #expect(out.messages.map(\.type) == ["request_welcome", "hologram"])
        #expect(out.messages.map(\.details.known) == [true, false])
        #expect(out.unknown == ["message type hologram"])
        #expect(out.problems.isEmpty)
    }
}
