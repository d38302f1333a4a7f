import Foundation
import WireModels

/// What routing rules look at in an enquiry: the business number it came in on (and that
/// number's department), its words, reply payloads, ad and campaign, and the contact's owner
/// when that owner is an active user.
public struct RoutingFacts: Sendable, Equatable {
    public var phoneNumberId: String
    public var numberDepartment: String?
    /// The words of the text, of the reply's title and of its payload or id, each separately
    /// (a phrase never spans two of them).
    public var wordLists: [[String]]
    /// A template quick-reply payload, an interactive button/list reply id.
    public var payloads: [String]
    public var hasReferral: Bool
    public var adSourceId: String?
    public var campaignId: UUID?
    public var activeOwner: UUID?

    public init(
        phoneNumberId: String, numberDepartment: String? = nil, wordLists: [[String]] = [], payloads: [String] = [],
        hasReferral: Bool = false, adSourceId: String? = nil, campaignId: UUID? = nil, activeOwner: UUID? = nil
    ) {
        self.phoneNumberId = phoneNumberId
        self.numberDepartment = numberDepartment
        self.wordLists = wordLists
        self.payloads = payloads
        self.hasReferral = hasReferral
        self.adSourceId = adSourceId
        self.campaignId = campaignId
        self.activeOwner = activeOwner
    }

    public init(message m: InboundMessage, campaignId: UUID?, numberDepartment: String?, activeOwner: UUID?) {
        let reply = m.details.reply
        let payloads = [reply?.payload, reply?.id].compactMap { $0 }.filter { !$0.isEmpty }
        self.init(
            phoneNumberId: m.phoneNumberId, numberDepartment: numberDepartment,
            wordLists: ([m.text, reply?.title] + payloads.map(Optional.some)).compactMap { $0 }.map(RoutingText.words)
                .filter { !$0.isEmpty },
            payloads: payloads, hasReferral: m.details.referral != nil, adSourceId: m.details.referral?.sourceId,
            campaignId: campaignId, activeOwner: activeOwner)
    }
}

/// The pure half of routing: which rules apply, in which order, and what each matched. The
/// router resolves the first candidate that can assign (an inactive owner or a department
/// without active agents passes to the next one).
public enum RuleMatching {
    /// A rule to try: a stored rule, or the built-in stickiness that comes first while no
    /// sticky_owner rule exists.
    public enum Step: Sendable, Equatable {
        case implicitSticky
        case rule(RoutingRule)
    }

    /// A step that matched the facts, with what it matched (for the reason).
    public struct Candidate: Sendable, Equatable {
        public var step: Step
        public var matched: String
    }

    /// Active rules in evaluation order (the store's order: position, creation, id), after
    /// the implicit stickiness unless some sticky_owner rule, even an inactive one, exists.
    public static func plan(_ rules: [RoutingRule]) -> [Step] {
        let ordered = rules.filter(\.spec.active).sorted {
            ($0.spec.position, $0.createdAt, $0.id.uuidString) < ($1.spec.position, $1.createdAt, $1.id.uuidString)
        }.map(Step.rule)
        return rules.contains { $0.spec.kind == .stickyOwner } ? ordered : [.implicitSticky] + ordered
    }

    public static func candidates(_ steps: [Step], _ facts: RoutingFacts) -> [Candidate] {
        steps.compactMap { step in
            switch step {
            case .implicitSticky:
                facts.activeOwner.map { _ in Candidate(step: step, matched: "the contact's owner") }
            case .rule(let rule):
                match(rule.spec, facts).map { Candidate(step: step, matched: $0) }
            }
        }
    }

    /// What of the facts the rule matched, or nil.
    public static func match(_ rule: RoutingRuleSpec, _ facts: RoutingFacts) -> String? {
        switch rule.kind {
        case .stickyOwner:
            return facts.activeOwner.map { _ in "the contact's owner" }
        case .phoneNumber:
            return rule.values.contains(facts.phoneNumberId) ? "number \(facts.phoneNumberId)" : nil
        case .department:
            guard let department = facts.numberDepartment else { return nil }
            return rule.values.first { $0.caseInsensitiveCompare(department) == .orderedSame }
                .map { _ in "a number of department \(department)" }
        case .keyword:
            return rule.values.first { keyword in
                let phrase = RoutingText.words(keyword)
                return facts.wordLists.contains { contains($0, phrase) }
            }.map { "keyword \"\($0)\"" }
        case .payload:
            return rule.values.first { value in
                facts.payloads.contains { $0.caseInsensitiveCompare(value) == .orderedSame }
            }.map { "payload \($0)" }
        case .ad:
            guard facts.hasReferral else { return nil }
            if rule.values.isEmpty { return "an ad" }
            guard let id = facts.adSourceId, rule.values.contains(id) else { return nil }
            return "ad \(id)"
        case .campaign:
            guard let campaign = facts.campaignId else { return nil }
            if rule.values.isEmpty { return "a campaign reply" }
            return rule.values.contains { UUID(uuidString: $0) == campaign }
                ? "campaign \(campaign.uuidString.lowercased())" : nil
        case .fallback:
            return "fallback"
        }
    }

    /// Whether `phrase` occurs in `words` as consecutive words.
    static func contains(_ words: [String], _ phrase: [String]) -> Bool {
        guard !phrase.isEmpty, phrase.count <= words.count else { return false }
        return (0...(words.count - phrase.count)).contains { start in
            words[start..<(start + phrase.count)].elementsEqual(phrase)
        }
    }
}
