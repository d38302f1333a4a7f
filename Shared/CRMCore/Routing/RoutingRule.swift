import Foundation

/// What a routing rule matches on. Evaluated in order when an enquiry opens a lead; the
/// first rule that matches and can assign wins.
public enum RoutingRuleKind: String, Sendable, Codable, CaseIterable {
    /// The contact's (active) owner keeps it. Without any sticky_owner rule stickiness comes
    /// first; the rule places it elsewhere in the order, and an inactive one turns it off.
    case stickyOwner = "sticky_owner"
    /// The message arrived on one of these business numbers (`phone_number_id`).
    case phoneNumber = "phone_number"
    /// The message arrived on a number of one of these departments (`wa_phone_numbers.department`).
    case department
    /// One of these words or phrases is in the text, or the button/list reply's title or payload.
    case keyword
    /// A template quick-reply payload or an interactive reply id is one of these.
    case payload
    /// A click-to-WhatsApp ad `referral`; `values` (optional) are ad `source_id`s.
    case ad
    /// A reply to a campaign message; `values` (optional) are campaign ids.
    case campaign
    /// Always matches: the last rule, typically into a queue.
    case fallback

    /// Kinds whose `values` must be given.
    var needsValues: Bool { [.phoneNumber, .department, .keyword, .payload].contains(self) }
    /// Kinds that take no `values` at all.
    var takesNoValues: Bool { self == .stickyOwner || self == .fallback }
}

/// Who gets the lead when a rule matches.
public enum RoutingTarget: Sendable, Equatable, Hashable {
    /// A given user (skipped while the user is inactive).
    case owner(UUID)
    /// The next active agent of this department, in turn (skipped when it has none).
    case roundRobin(String)
    /// Nobody yet: the lead waits, unassigned, in this queue.
    case queue(String)

    /// The keys of the API's and the file's `assign` object.
    public static let keys = ["owner_id", "round_robin", "queue"]
}

/// Whether a rule that assigns a lead also makes that user the contact's owner.
public enum ContactOwnerPolicy: String, Sendable, Codable, CaseIterable {
    /// Only when the contact has no owner (the default).
    case ifUnassigned = "if_unassigned"
    /// Always: the rule's owner replaces the contact's owner.
    case always
    /// Never: only the lead is assigned.
    case never
}

/// One bad field of a rule (`values`, `assign`, …), as the API and the config file report it.
public struct RuleProblem: Sendable, Equatable {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}

/// A rule as written by the API or the config file, before it has an id. `problems` is the
/// one validation both use, so a rule the file accepts is one the API accepts.
public struct RoutingRuleSpec: Sendable, Equatable {
    public var name: String
    public var position: Int
    public var active: Bool
    public var kind: RoutingRuleKind
    public var values: [String]
    public var target: RoutingTarget?
    public var contactOwner: ContactOwnerPolicy
    public var openLead: Bool

    public static let positions = 0...1_000_000
    public static let maxValues = 100
    public static let maxValueLength = 200

    public init(
        name: String, position: Int, active: Bool = true, kind: RoutingRuleKind, values: [String] = [],
        target: RoutingTarget? = nil, contactOwner: ContactOwnerPolicy = .ifUnassigned, openLead: Bool = true
    ) {
        self.name = name
        self.position = position
        self.active = active
        self.kind = kind
        self.values = values
        self.target = target
        self.contactOwner = contactOwner
        self.openLead = openLead
    }

    /// Every problem of the combination of fields (each field's own type was checked while
    /// reading it).
    public var problems: [RuleProblem] {
        var out: [RuleProblem] = []
        if !Self.positions.contains(position) {
            out.append(RuleProblem("position", "a whole number from 0 to \(Self.positions.upperBound)"))
        }
        out += valueProblems
        switch (kind, target, openLead) {
        case (.stickyOwner, .some, _):
            out.append(RuleProblem("assign", "not used by sticky_owner (the contact's owner keeps it)"))
        case (.stickyOwner, nil, false):
            out.append(RuleProblem("open_lead", "sticky_owner always opens the lead"))
        case (.stickyOwner, nil, true):
            break
        case (_, .some, false):
            out.append(RuleProblem("assign", "not used when open_lead is false (no lead to assign)"))
        case (_, nil, true):
            out.append(
                RuleProblem("assign", "required: {owner_id: <user id>}, {round_robin: <department>} or {queue: <name>}")
            )
        case (_, .queue?, true) where contactOwner == .always:
            out.append(RuleProblem("contact_owner", "a queue has no owner to give the contact"))
        default:
            break
        }
        return out
    }

    var valueProblems: [RuleProblem] {
        if kind.takesNoValues {
            return values.isEmpty ? [] : [RuleProblem("values", "not used by kind \(kind.rawValue)")]
        }
        if kind.needsValues && values.isEmpty {
            return [RuleProblem("values", "required: a non-empty list for kind \(kind.rawValue)")]
        }
        if values.count > Self.maxValues { return [RuleProblem("values", "at most \(Self.maxValues) values")] }
        if values.contains(where: { $0.isEmpty || $0.count > Self.maxValueLength }) {
            return [RuleProblem("values", "each value 1 to \(Self.maxValueLength) characters")]
        }
        switch kind {
        case .phoneNumber where !values.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }):
            return [RuleProblem("values", "Meta's numeric phone number ids")]
        case .campaign where !values.allSatisfy({ UUID(uuidString: $0) != nil }):
            return [RuleProblem("values", "campaign ids (UUIDs)")]
        case .keyword where values.contains(where: { RoutingText.words($0).isEmpty }):
            return [RuleProblem("values", "each keyword needs a letter or a digit")]
        default:
            return []
        }
    }
}

/// Text as keyword rules compare it: case and accents folded, split into words at anything
/// that is not a letter or a digit ("Preço?" and "preco" are one word).
public enum RoutingText {
    public static func words(_ text: String) -> [String] {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
            .split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }
}

/// A stored rule, as the API shows it.
public struct RoutingRule: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var spec: RoutingRuleSpec
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, spec: RoutingRuleSpec, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.spec = spec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension RoutingRule: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, position, active, kind, values, assign
        case contactOwner = "contact_owner"
        case openLead = "open_lead"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(spec.name, forKey: .name)
        try c.encode(spec.position, forKey: .position)
        try c.encode(spec.active, forKey: .active)
        try c.encode(spec.kind, forKey: .kind)
        try c.encode(spec.values, forKey: .values)
        switch spec.target {
        case .owner(let id)?: try c.encode(["owner_id": id.uuidString], forKey: .assign)
        case .roundRobin(let department)?: try c.encode(["round_robin": department], forKey: .assign)
        case .queue(let queue)?: try c.encode(["queue": queue], forKey: .assign)
        case nil: try c.encodeNil(forKey: .assign)
        }
        try c.encode(spec.contactOwner, forKey: .contactOwner)
        try c.encode(spec.openLead, forKey: .openLead)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}
