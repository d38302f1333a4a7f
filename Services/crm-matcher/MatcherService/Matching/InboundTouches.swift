import Foundation
import Logging
import PostgresNIO
import Storage
import WireModels

/// The common case of a new inbound message, for a whole batch in a few statements: a
/// message from a contact with an open lead and a current conversation inside its idle window
/// only touches the lead and extends the conversation. `absorb` takes such a message; any
/// other (a first message, a keyword, a number change, an idle conversation, no open lead)
/// goes the full way (`InboundProcessor.apply`), which reports back the lead and conversation
/// it left (`learn`), so the contact's later messages in the batch are the common case again
/// (a new customer's first webhook often carries several messages). After a number change,
/// the contact's later messages keep going the full way. A contact's pending touches are
/// flushed before its full-way message, so the full way always sees its rows as the messages
/// before it left them; other contacts' touches wait (the full way reads only its contact's
/// rows, and every contact of the batch is locked by this transaction).
struct InboundTouches {
    let idleSeconds: Double
    var openLeads: [UUID: UUID]
    var conversations: [ConversationStore.Key: (id: UUID, lastActivity: Date)]
    /// Contacts whose messages take the full way for the rest of the batch.
    var fullWay = Set<UUID>()
    var leadTouches: [(id: UUID, at: Date)] = []
    var conversationTouches: [(id: UUID, at: Date, leadId: UUID?)] = []
    /// Contacts with touches not yet written.
    var pending = Set<UUID>()

    /// Reads the open leads and current conversations (locked) of these contacts.
    static func load(contacts: [UUID], idle: Duration, on conn: PostgresConnection, logger: Logger) async throws
        -> InboundTouches
    {
        let unique = Array(Set(contacts))
        return InboundTouches(
            idleSeconds: Double(idle.components.seconds),
            openLeads: try await LeadStore.openIds(contactIds: unique, on: conn, logger: logger),
            conversations: try await ConversationStore.current(contactIds: unique, on: conn, logger: logger))
    }

    /// Takes the message if it is the common case; false = it must take the full way.
    /// `enquiry`: the message attaches to (or would open) a lead; `keyword`: it is an
    /// opt-out/opt-in keyword (consent is written the full way).
    mutating func absorb(_ m: InboundMessage, contact: UUID, enquiry: Bool, keyword: Bool) -> Bool {
        guard !fullWay.contains(contact), !keyword, m.type != "system" else { return takeFullWay(contact) }
        let key = ConversationStore.Key(contactId: contact, phoneNumberId: m.phoneNumberId)
        guard let conversation = conversations[key],
            m.timestamp.timeIntervalSince(conversation.lastActivity) < idleSeconds
        else { return takeFullWay(contact) }
        var lead: UUID?
        if enquiry {
            guard let open = openLeads[contact] else { return takeFullWay(contact) }
            lead = open
            leadTouches.append((open, m.timestamp))
        }
        conversations[key]?.lastActivity = max(conversation.lastActivity, m.timestamp)
        conversationTouches.append((conversation.id, m.timestamp, lead))
        pending.insert(contact)
        return true
    }

    /// What a full-way message left: the contact's open lead (nil: unchanged, e.g. a keyword,
    /// which never looks at leads) and the conversation it touched.
    mutating func learn(contact: UUID, lead: UUID?, conversation: ConversationStore.Key, touch: ConversationStore.Touch)
    {
        fullWay.remove(contact)
        if let lead { openLeads[contact] = lead }
        conversations[conversation] = (touch.id, touch.lastActivity)
    }

    /// What the batch knows of a contact for the full way: read when the batch began, with
    /// the contact's row locked (no other worker opens its lead or moves its conversation),
    /// and kept current through `absorb` and `learn`.
    struct Known {
        var openLead: UUID?
        var conversation: (id: UUID, lastActivity: Date)?
    }

    func known(_ contact: UUID, _ key: ConversationStore.Key) -> Known {
        Known(openLead: openLeads[contact], conversation: conversations[key].map { ($0.id, $0.lastActivity) })
    }

    mutating func takeFullWay(_ contact: UUID) -> Bool {
        fullWay.insert(contact)
        return false
    }

    /// Writes the pending touches (two statements at most); with `contact`, only if that
    /// contact has some.
    mutating func flush(before contact: UUID? = nil, on conn: PostgresConnection, logger: Logger) async throws {
        if let contact, !pending.contains(contact) { return }
        try await LeadStore.touch(leadTouches, on: conn, logger: logger)
        try await ConversationStore.extend(conversationTouches, on: conn, logger: logger)
        leadTouches.removeAll()
        conversationTouches.removeAll()
        pending.removeAll()
    }
}
