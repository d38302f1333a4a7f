import CRMCore
import Foundation
import MatcherService
import Storage
import Testing
import WireModels

/// Owner routing rules without a database: the validation the API and the config file share,
/// what each kind matches, and the evaluation order.
struct RoutingRuleTests {
    typealias Spec = RoutingRuleSpec

    static let t0 = Date(timeIntervalSince1970: 1_764_090_000)

    static func rule(
        _ name: String, _ kind: RoutingRuleKind, _ values: [String] = [], position: Int = 10, active: Bool = true,
        target: RoutingTarget? = .queue("q"), created: Date = t0, id: UUID = UUID()
    ) -> RoutingRule {
        RoutingRule(
            id: id,
            spec: Spec(
                name: name, position: position, active: active, kind: kind, values: values,
                target: kind == .stickyOwner ? nil : target),
            createdAt: created, updatedAt: created)
    }

    static func fields(_ spec: Spec) -> [String] { spec.problems.map(\.field) }

    @Test func validationNamesEachBadCombination() {
        let ok = Spec(name: "a", position: 10, kind: .keyword, values: ["preço"], target: .roundRobin("sales"))
        #expect(ok.problems.isEmpty)
        #expect(Self.fields(Spec(name: "a", position: -1, kind: .fallback, target: .queue("q"))) == ["position"])
        // Values: required for some kinds, refused for others, typed for numbers and campaigns.
        #expect(Self.fields(Spec(name: "a", position: 1, kind: .keyword, target: .queue("q"))) == ["values"])
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .fallback, values: ["x"], target: .queue("q"))) == ["values"]
        )
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .phoneNumber, values: ["12a"], target: .queue("q")))
                == ["values"])
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .campaign, values: ["nope"], target: .queue("q")))
                == ["values"])
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .keyword, values: ["?!"], target: .queue("q"))) == ["values"]
        )
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .ad, values: [], target: .queue("q"))).isEmpty)  // any ad
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .payload, values: Array(repeating: "x", count: 101))) == [
                "values", "assign",
            ])
        // Targets: required to open a lead, refused for sticky_owner and for rules that open none.
        #expect(Self.fields(Spec(name: "a", position: 1, kind: .fallback)) == ["assign"])
        #expect(Self.fields(Spec(name: "a", position: 1, kind: .stickyOwner, target: .queue("q"))) == ["assign"])
        #expect(Self.fields(Spec(name: "a", position: 1, kind: .stickyOwner, openLead: false)) == ["open_lead"])
        #expect(
            Self.fields(
                Spec(name: "a", position: 1, kind: .keyword, values: ["job"], target: .queue("q"), openLead: false))
                == ["assign"])
        #expect(Spec(name: "a", position: 1, kind: .keyword, values: ["job"], openLead: false).problems.isEmpty)
        #expect(
            Self.fields(Spec(name: "a", position: 1, kind: .fallback, target: .queue("q"), contactOwner: .always)) == [
                "contact_owner"
            ])
    }

    @Test func eachKindMatchesWhatItSays() {
        let campaign = UUID()
        let facts = RoutingFacts(
            phoneNumberId: "1001", numberDepartment: "Sales",
            wordLists: [RoutingText.words("Olá! Qual é o PREÇO do plano anual?"), RoutingText.words("Sim, quero")],
            payloads: ["PROMO_YES"], hasReferral: true, adSourceId: "ad-42", campaignId: campaign)
        func matched(_ kind: RoutingRuleKind, _ values: [String]) -> String? {
            RuleMatching.match(Spec(name: "r", position: 1, kind: kind, values: values, target: .queue("q")), facts)
        }
        #expect(matched(.phoneNumber, ["1002", "1001"]) == "number 1001")
        #expect(matched(.phoneNumber, ["1002"]) == nil)
        #expect(matched(.department, ["sales"]) != nil)  // case does not matter
        #expect(matched(.department, ["support"]) == nil)
        // Keywords: accents, case and punctuation folded; phrases are consecutive words of one text.
        #expect(matched(.keyword, ["preco"]) == "keyword \"preco\"")
        #expect(matched(.keyword, ["plano anual"]) != nil)
        #expect(matched(.keyword, ["anual plano"]) == nil)
        #expect(matched(.keyword, ["pre"]) == nil)  // words, not substrings
        #expect(matched(.keyword, ["anual sim"]) == nil)  // never across the text and the reply
        #expect(matched(.keyword, ["quero"]) != nil)
        #expect(matched(.payload, ["promo_yes"]) == "payload promo_yes")
        #expect(matched(.payload, ["PROMO_NO"]) == nil)
        #expect(matched(.ad, []) == "an ad")
        #expect(matched(.ad, ["ad-42"]) == "ad ad-42")
        #expect(matched(.ad, ["ad-7"]) == nil)
        #expect(matched(.campaign, []) == "a campaign reply")
        #expect(matched(.campaign, [campaign.uuidString.lowercased()]) != nil)
        #expect(matched(.campaign, [UUID().uuidString]) == nil)
        #expect(matched(.fallback, []) == "fallback")
        #expect(matched(.stickyOwner, []) == nil)  // no active owner in these facts

        let plain = RoutingFacts(phoneNumberId: "1001")
        for kind in [RoutingRuleKind.department, .keyword, .payload, .ad, .campaign] {
            #expect(RuleMatching.match(Spec(name: "r", position: 1, kind: kind, values: []), plain) == nil, "\(kind)")
        }
    }

    @Test func factsComeFromTheTextAndTheReply() {
        var details = MessageDetails(known: true)
        details.reply = .init(
            kind: "list_reply", id: "plan_gold", title: "Plano Ouro", description: nil, payload: nil,
            responseJSON: nil)
        details.referral = .init(
            sourceURL: nil, sourceId: "ad-9", sourceType: "ad", headline: nil, body: nil, mediaType: nil,
            ctwaClid: "c")
        let m = InboundMessage(
            wamid: "wamid.1", waId: "5511999990000", userId: nil, profileName: nil, wabaId: "1",
            phoneNumberId: "1001", displayPhoneNumber: nil, type: "interactive", timestamp: Self.t0,
            receivedAt: Self.t0, text: nil, contextId: nil, details: details, content: .object([:]))
        let owner = UUID()
        let facts = RoutingFacts(message: m, campaignId: nil, numberDepartment: "sales", activeOwner: owner)
        #expect(facts.payloads == ["plan_gold"])
        #expect(facts.wordLists == [["plano", "ouro"], ["plan", "gold"]])
        #expect(facts.adSourceId == "ad-9")
        #expect(facts.hasReferral)
        #expect(facts.activeOwner == owner)
        // A keyword rule finds a word of the list reply's id as well as of its title.
        let keyword = Spec(name: "k", position: 1, kind: .keyword, values: ["gold"], target: .queue("q"))
        #expect(RuleMatching.match(keyword, facts) != nil)
    }

    @Test func orderIsPositionThenCreationAndStickinessComesFirstUnlessARulePlacesIt() {
        let a = Self.rule("a", .fallback, position: 20)
        let b = Self.rule("b", .keyword, ["x"], position: 10, created: Self.t0.addingTimeInterval(5))
        let c = Self.rule("c", .keyword, ["y"], position: 10, created: Self.t0)
        let off = Self.rule("off", .payload, ["z"], position: 1, active: false)
        #expect(RuleMatching.plan([a, b, c, off]) == [.implicitSticky, .rule(c), .rule(b), .rule(a)])

        // A sticky_owner rule places stickiness; an inactive one turns it off.
        let sticky = Self.rule("sticky", .stickyOwner, position: 15)
        #expect(RuleMatching.plan([a, b, c, sticky]) == [.rule(c), .rule(b), .rule(sticky), .rule(a)])
        var stickyOff = sticky
        stickyOff.spec.active = false
        #expect(RuleMatching.plan([a, stickyOff]) == [.rule(a)])

        // First match wins, deterministically; stickiness matches only with an active owner.
        let owner = UUID()
        let facts = RoutingFacts(phoneNumberId: "1", wordLists: [["y"]], activeOwner: owner)
        let steps = RuleMatching.plan([a, b, c])
        #expect(RuleMatching.candidates(steps, facts).map(\.step) == [.implicitSticky, .rule(c), .rule(a)])
        var orphan = facts
        orphan.activeOwner = nil
        #expect(RuleMatching.candidates(steps, orphan).first?.step == .rule(c))
        #expect(RuleMatching.candidates(RuleMatching.plan([a, b, c, sticky]), facts).first?.step == .rule(c))
    }
}
