import Foundation
import PostgresNIO
import Storage
import WireModels

/// What the matcher knows when an enquiry arrives from a contact with no open lead.
public struct LeadEnquiry: Sendable {
    public var contactId: UUID
    /// The contact's current owner (nil: unassigned).
    public var contactOwnerId: UUID?
    public var message: InboundMessage
    public var source: JSONValue
    public var campaignId: UUID?
}

/// Whether to open the lead, and with which owner and stage; `reason` is recorded with it.
/// `assignment` is what a routing rule decided, recorded by the router once the lead exists.
public struct LeadDecision: Sendable, Equatable {
    public var open: Bool
    public var ownerId: UUID?
    public var stage: String
    public var reason: String
    public var assignment: OwnerAssignment?

    public init(
        open: Bool, ownerId: UUID?, stage: String = "new", reason: String, assignment: OwnerAssignment? = nil
    ) {
        self.open = open
        self.ownerId = ownerId
        self.stage = stage
        self.reason = reason
        self.assignment = assignment
    }
}

/// The seam where routing rules decide about a new lead: veto it, set its stage, pick its
/// owner. Called inside the matcher's transaction with the contact's row locked, so a router
/// may read (and lock) what it needs on `conn`; what it decides commits with the lead.
public protocol LeadRouter: Sendable {
    func decide(_ enquiry: LeadEnquiry, on conn: PostgresConnection, logger: Logger) async throws -> LeadDecision

    /// Called in the same transaction once the decided lead is open, to record what the
    /// decision assigned (its outbox rows publish with the batch's).
    func opened(_ lead: LeadRow, for enquiry: LeadEnquiry, decision: LeadDecision, outbox: inout ActivityOutbox)
        async throws
}

extension LeadRouter {
    public func opened(_ lead: LeadRow, for enquiry: LeadEnquiry, decision: LeadDecision, outbox: inout ActivityOutbox)
        async throws
    {}
}

/// Without routing rules: every enquiry opens a lead, owned by the contact's owner (sticky).
public struct StickyOwnerRouter: LeadRouter {
    public init() {}

    public func decide(_ enquiry: LeadEnquiry, on conn: PostgresConnection, logger: Logger) async throws
        -> LeadDecision
    {
        LeadDecision(
            open: true, ownerId: enquiry.contactOwnerId,
            reason: enquiry.contactOwnerId == nil ? "unassigned" : "sticky_owner")
    }
}
