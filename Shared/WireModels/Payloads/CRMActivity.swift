import Foundation

/// `crm.activity` payload: one change to a CRM record (a contact created, a lead opened or
/// moved, an owner assigned, a task created or done, a reminder fired, an opt-out …).
/// Keyed by contact id; the envelope's `event_id` is `kind:entity_id:version`, so a
/// redelivered change produces the same event and consumers can drop it.
public struct CRMActivity: Codable, Sendable, Equatable {
    /// Dotted name, `<entity>.<verb>`: `contact.created`, `lead.opened`, `task.created`, …
    public var kind: String
    /// `contact`, `lead`, `task`, `reminder`, `conversation`, `consent`, …
    public var entity: String
    public var entityId: String
    public var contactId: String?
    /// Version of the entity after the change (monotonic per entity).
    public var version: Int
    public var at: Date
    /// `system` (a rule or the matcher) or the id of the API user who made the change.
    public var actor: String
    /// What changed, in the entity's API field names.
    public var data: JSONValue?

    public init(
        kind: String, entity: String, entityId: String, contactId: String?, version: Int, at: Date,
        actor: String = "system", data: JSONValue? = nil
    ) {
        self.kind = kind
        self.entity = entity
        self.entityId = entityId
        self.contactId = contactId
        self.version = version
        self.at = at
        self.actor = actor
        self.data = data
    }

    /// The idempotency key of this change (contract: `kind:entity id:version`).
    public var eventId: String { "\(kind):\(entityId):\(version)" }

    enum CodingKeys: String, CodingKey {
        case kind, entity
        case entityId = "entity_id"
        case contactId = "contact_id"
        case version, at, actor, data
    }
}
