import CRMCore
import Foundation
import Testing
import WireModels

@testable import MatcherService

/// Opt-out/opt-in keywords: whole messages only, any case, accents and punctuation around them.
@Suite struct ConsentKeywordTests {
    let keywords = ConsentKeywords()

    @Test(arguments: [
        "STOP", "stop", " Stop! ", "Parar", "sair.", "BAJA", "arrêt", "Arret", "STOPP", "dar  de baja", "arre\u{301}t",
        "Stop Promotions!",
    ])
    func optOutKeywords(text: String) {
        guard case .optOut = keywords.match(text) else {
            Issue.record("\(text) should opt out")
            return
        }
    }

    @Test(arguments: ["START", "start", "Unstop", "Alta!", "voltar"])
    func optInKeywords(text: String) {
        #expect(keywords.match(text).map { if case .optIn = $0 { true } else { false } } == true)
    }

    @Test(arguments: ["please don't stop", "stopped", "STOP ME NOW", "", "Olá", String(repeating: "stop ", count: 20)])
    func sentencesAreNoKeywords(text: String) {
        #expect(keywords.match(text) == nil)
    }

    @Test func theListsAreConfigurable() throws {
        let settings = try MatcherSettings.fromEnvironment([
            "CRM_OPT_OUT_KEYWORDS": "Schluss, FIN", "CRM_OPT_IN_KEYWORDS": "weiter",
            "CRM_CONVERSATION_IDLE_HOURS": "1.5",
        ])
        #expect(settings.keywords.match("schluss") == .optOut("SCHLUSS"))
        #expect(settings.keywords.match("Fin!") == .optOut("FIN"))
        #expect(settings.keywords.match("STOP") == nil)  // the configured list replaces the defaults
        #expect(settings.keywords.match("Weiter") == .optIn("WEITER"))
        #expect(settings.conversationIdle == .seconds(5400))
        #expect(throws: (any Error).self) { try MatcherSettings.fromEnvironment(["CRM_CONVERSATION_IDLE_HOURS": "0"]) }
        #expect(try MatcherSettings.fromEnvironment([:]).keywords.match("stop") == .optOut("STOP"))
    }

    @Test func whatsAppMarketingPreferencesAreRead() throws {
        let value = try JSONCoding.decoder().decode(
            JSONValue.self,
            from: Data(
                """
                {"messaging_product":"whatsapp","user_preferences":[
                  {"wa_id":"16505551234","detail":"User requested to stop marketing messages",
                   "category":"marketing_messages","value":"stop","timestamp":1731705721},
                  {"wa_id":"16505551235","category":"marketing_messages","value":"resume","timestamp":1731705722},
                  {"wa_id":"16505551236","category":"something_else","value":"stop","timestamp":1731705723}]}
                """.utf8))
        let envelope = EventEnvelope(
            eventId: "waba:user_preferences:abc", type: EventTypes.accountEvent, occurredAt: .now, source: "t",
            payload: MetaEvent(wabaId: "waba", field: "user_preferences", value: value, receivedAt: .now))
        let preferences = MarketingPreferencesHandler.preferences(in: envelope)
        #expect(preferences.map(\.waId) == ["16505551234", "16505551235"])
        #expect(preferences.map(\.optedOut) == [true, false])
        #expect(preferences.map(\.sourceEventId) == ["waba:user_preferences:abc:0", "waba:user_preferences:abc:1"])
        #expect(preferences[0].at == Date(timeIntervalSince1970: 1_731_705_721))
    }

    @Test func matchKeysJoinWhatsAppVariantsAndKeepUnparsableIds() {
        #expect(ContactMatchKey(waId: "551187654321").key == "+5511987654321")
        #expect(ContactMatchKey(waId: "5215512345678").key == ContactMatchKey(waId: "525512345678").key)
        let odd = ContactMatchKey(waId: "999123")
        #expect(odd.key == "wa:999123")
        #expect(odd.phone == "+999123")
        #expect(ContactMatchKey(typed: "+54 9 11 1234-5678")?.key == ContactMatchKey(waId: "541112345678").key)
        #expect(ContactMatchKey(typed: "hello") == nil)
    }
}
