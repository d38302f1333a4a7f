import CRMCore
import Foundation
import Logging
import PostgresNIO
import Storage
import WireModels

/// The CRM side of a batch of inbound messages, in one transaction: find or create each
/// sender's contact, store the messages, then for each message stored for the first time apply
/// number changes, opt-out/opt-in keywords, leads and conversations (the common case — an open
/// lead, a live conversation — batched by `InboundTouches`). Every change is written to
/// the activity outbox, published after the commit. A redelivered
/// message is no longer new, so it changes nothing and yields no event.
public struct InboundProcessor: Sendable {
    let settings: MatcherSettings
    let router: any LeadRouter

    public init(settings: MatcherSettings, router: any LeadRouter = StickyOwnerRouter()) {
        self.settings = settings
        self.router = router
    }

    /// Types that never open a lead: they react to or change earlier messages.
    static let notEnquiries: Set<String> = ["system", "reaction", "revoke", "edit"]

    /// The batch in the caller's transaction, with an outbox of its own; returns what it wrote.
    public func process(
        _ messages: [InboundMessage], traces: [String: String] = [:], on conn: PostgresConnection, logger: Logger
    ) async throws -> OutboxCommit {
        var outbox = ActivityOutbox(conn: conn, logger: logger, buffered: true)
        try await process(messages, traces: traces, outbox: &outbox)
        return try await outbox.flush()
    }

    /// `traces`: wamid → the `traceparent` of the span handling that message, carried by the
    /// activities and sends it causes. The outbox should be buffered: nothing in the batch
    /// reads crm_activity back, so its events go in one statement.
    public func process(
        _ messages: [InboundMessage], traces: [String: String] = [:], outbox: inout ActivityOutbox
    ) async throws {
        guard !messages.isEmpty else { return }
        let (conn, logger) = (outbox.conn, outbox.logger)
        let attribution = try await SourceAttribution.load(for: messages, on: conn, logger: logger)

        // System messages come from the old number of someone who may have moved already.
        let senders = messages.filter { $0.type != "system" }
        let matched = try await ContactStore.matchMany(
            senders.map {
                ContactIdentity(
                    waId: $0.waId, userId: $0.userId, profileName: $0.profileName, source: attribution.source(of: $0))
            }, fromCustomer: true, on: conn, logger: logger)
        var contactOf: [String: MatchedContact] = [:]
        for (m, c) in zip(senders, matched) { contactOf[m.wamid] = c }
        for m in messages where m.type == "system" {
            contactOf[m.wamid] = try await systemSender(m, on: conn, logger: logger)
        }

        var announced = Set<UUID>()
        for m in messages {
            guard let c = contactOf[m.wamid], announced.insert(c.id).inserted else { continue }
            outbox.traceParent = traces[m.wamid]
            if c.created {
                try await outbox.add(
                    "contact.created", "contact", c.id, contact: c.id, version: c.version, at: m.timestamp,
                    data: [
                        "phone": m.waId.map { .string(ContactMatchKey(waId: $0).phone ?? "") } ?? .null,
                        "wa_id": m.waId.map(JSONValue.string) ?? .null, "name": c.name.map(JSONValue.string) ?? .null,
                        "source": attribution.source(of: m),
                    ])
            } else if c.nameChanged {
                try await outbox.add(
                    "contact.name_changed", "contact", c.id, contact: c.id, version: c.version, at: m.timestamp,
                    data: ["name": c.name.map(JSONValue.string) ?? .null, "name_source": .string("whatsapp")])
            }
        }

        let fresh = try await MessageStore.insertInboundMany(
            messages, contactIds: messages.map { contactOf[$0.wamid]!.id }, on: conn, logger: logger)
        let news = messages.filter { fresh.contains($0.wamid) }
        var touches = try await InboundTouches.load(
            contacts: news.compactMap { contactOf[$0.wamid]?.id }, idle: settings.conversationIdle, on: conn,
            logger: logger)
        for m in news {
            guard let c = contactOf[m.wamid] else { continue }
            let keyword = keyword(in: m)
            let enquiry = keyword == nil && !Self.notEnquiries.contains(m.type)
            if touches.absorb(m, contact: c.id, enquiry: enquiry, keyword: keyword != nil) { continue }
            try await touches.flush(before: c.id, on: conn, logger: logger)
            outbox.traceParent = traces[m.wamid]
            let key = ConversationStore.Key(contactId: c.id, phoneNumberId: m.phoneNumberId)
            if let left = try await apply(
                m, contact: c.id, owner: c.ownerId, keyword: keyword, known: touches.known(c.id, key),
                attribution: attribution, outbox: &outbox)
            {
                touches.learn(contact: c.id, lead: left.lead, conversation: key, touch: left.conversation)
            }
        }
        try await touches.flush(on: conn, logger: logger)
        // Workflow rules see the CRM records as this batch left them, and commit with it.
        try await WorkflowEngine(settings: settings.automation).run(
            for: news, contacts: contactOf, attribution: attribution,
            keywords: settings.keywords, traces: traces, outbox: &outbox)
    }

    /// An opt-out/opt-in keyword that is the whole text of a message a customer typed or tapped.
    func keyword(in m: InboundMessage) -> ConsentKeywords.Match? {
        ["text", "button", "interactive"].contains(m.type) ? settings.keywords.match(m.text) : nil
    }

    /// The contact a system message is about: the one on its `from` number, else the one a
    /// redelivered number change already moved, else a new contact on that number.
    func systemSender(_ m: InboundMessage, on conn: PostgresConnection, logger: Logger) async throws -> MatchedContact {
        if let waId = m.waId {
            let key = ContactMatchKey(waId: waId).key
            if let known = try await ContactStore.byKeyOrNumberChange(
                key: key, wamid: m.wamid, on: conn, logger: logger)
            {
                return known
            }
        }
        let identity = ContactIdentity(waId: m.waId, userId: m.userId, profileName: nil)
        guard let c = try await ContactStore.matchMany([identity], fromCustomer: true, on: conn, logger: logger).first
        else { throw StorageError.invalid("no contact for system message \(m.wamid)") }
        return c
    }

    /// The full way for one new message, given what the batch knows of the contact (its open
    /// lead and current conversation, read locked). Returns the lead it attached to (nil: none,
    /// or not looked at) and the conversation it touched; nil for a system message.
    @discardableResult
    func apply(
        _ m: InboundMessage, contact: UUID, owner: UUID?, keyword: ConsentKeywords.Match?,
        known: InboundTouches.Known, attribution: SourceAttribution, outbox: inout ActivityOutbox
    ) async throws -> (lead: UUID?, conversation: ConversationStore.Touch)? {
        let conn = outbox.conn
        let logger = outbox.logger
        if m.type == "system" {
            if m.details.system?.type == "user_changed_number", let newWaId = m.details.system?.newWaId {
                try await changeNumber(m, contact: contact, newWaId: newWaId, outbox: &outbox)
            }
            return nil
        }
        if let keyword {
            try await consent(m, contact: contact, keyword: keyword, outbox: &outbox)
        }

        var leadId: UUID?
        if keyword == nil, !Self.notEnquiries.contains(m.type) {
            leadId = try await lead(
                for: m, contact: contact, owner: owner, open: known.openLead, attribution: attribution,
                outbox: &outbox)
        }
        let touch = try await ConversationStore.recordInbound(
            contactId: contact, phoneNumberId: m.phoneNumberId, leadId: leadId, wamid: m.wamid, at: m.timestamp,
            idle: settings.conversationIdle, current: known.conversation, on: conn, logger: logger)
        if touch.opened {
            try await outbox.add(
                "conversation.opened", "conversation", touch.id, contact: contact, version: 1, at: m.timestamp,
                data: [
                    "phone_number_id": .string(m.phoneNumberId), "wamid": .string(m.wamid),
                    "lead_id": leadId.map { .string($0.uuidString) } ?? .null,
                ])
        }
        return (leadId, touch)
    }

    /// Attaches to the open lead (`open`, as the batch read it), or asks the router whether to
    /// open one.
    func lead(
        for m: InboundMessage, contact: UUID, owner: UUID?, open: UUID?, attribution: SourceAttribution,
        outbox: inout ActivityOutbox
    ) async throws -> UUID? {
        let conn = outbox.conn
        let logger = outbox.logger
        if let open {
            try await LeadStore.touch(id: open, at: m.timestamp, on: conn, logger: logger)
            return open
        }
        let source = attribution.source(of: m)
        let campaign = attribution.campaign(of: m)
        let enquiry = LeadEnquiry(
            contactId: contact, contactOwnerId: owner, message: m, source: source, campaignId: campaign)
        let decision = try await router.decide(enquiry, on: conn, logger: logger)
        guard decision.open else {
            logger.debug("lead not opened", metadata: ["wamid": "\(m.wamid)", "reason": "\(decision.reason)"])
            return nil
        }
        guard
            let lead = try await LeadStore.openNew(
                contactId: contact, ownerId: decision.ownerId, stage: decision.stage, source: source,
                campaignId: campaign, phoneNumberId: m.phoneNumberId, wamid: m.wamid, at: m.timestamp, on: conn,
                logger: logger)
        else {
            // Unreachable while the contact row is locked; the unique index still has the last word.
            return try await LeadStore.open(contactId: contact, on: conn, logger: logger)?.id
        }
        try await outbox.add(
            "lead.opened", "lead", lead.id, contact: contact, version: lead.version, at: m.timestamp,
            data: [
                "status": .string(lead.status), "stage": .string(lead.stage),
                "owner_id": lead.ownerId.map { .string($0.uuidString) } ?? .null, "source": source,
                "campaign_id": campaign.map { .string($0.uuidString) } ?? .null,
                "reason": .string(decision.reason), "wamid": .string(m.wamid),
            ])
        try await router.opened(lead, for: enquiry, decision: decision, outbox: &outbox)
        return lead.id
    }

    func consent(
        _ m: InboundMessage, contact: UUID, keyword: ConsentKeywords.Match, outbox: inout ActivityOutbox
    ) async throws {
        let (optedOut, word): (Bool, String) =
            switch keyword {
            case .optOut(let w): (true, w)
            case .optIn(let w): (false, w)
            }
        guard
            let change = try await ConsentStore.record(
                contactId: contact, optedOut: optedOut, how: "keyword", detail: word, wamid: m.wamid,
                sourceEventId: "wamid:" + m.wamid, actor: "system", at: m.timestamp, on: outbox.conn,
                logger: outbox.logger),
            let version = change.contactVersion
        else { return }
        try await outbox.add(
            optedOut ? "contact.opted_out" : "contact.opted_in", "contact", contact, contact: contact, version: version,
            at: m.timestamp,
            data: [
                "opted_out": .bool(optedOut), "how": .string("keyword"), "keyword": .string(word),
                "wamid": .string(m.wamid), "ledger_id": .number(Double(change.ledgerId)),
            ])
    }

    func changeNumber(_ m: InboundMessage, contact: UUID, newWaId: String, outbox: inout ActivityOutbox) async throws {
        let outcome = try await NumberChangeStore.move(
            contactId: contact, newWaId: newWaId, wamid: m.wamid, at: m.timestamp, on: outbox.conn,
            logger: outbox.logger)
        switch outcome {
        case .moved(let version, let oldPhone, let newPhone):
            try await outbox.add(
                "contact.number_changed", "contact", contact, contact: contact, version: version, at: m.timestamp,
                data: [
                    "old_phone": oldPhone.map(JSONValue.string) ?? .null,
                    "phone": newPhone.map(JSONValue.string) ?? .null, "wa_id": .string(newWaId),
                    "wamid": .string(m.wamid),
                ])
        case .conflict(let other):
            outbox.logger.warning(
                "number change not applied: the new number belongs to another contact",
                metadata: ["contact_id": "\(contact)", "other_contact_id": "\(other)", "wamid": "\(m.wamid)"])
        case .alreadyRecorded:
            break
        }
    }
}
