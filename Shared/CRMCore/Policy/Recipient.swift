import Foundation

/// What the policy gate knows about a recipient: the contact (if any), whether they opted
/// out, when they last wrote to us (the customer-service window) and whether they are a
/// configured test recipient.
public struct Recipient: Sendable, Equatable {
    public var waId: String
    public var contactId: UUID?
    public var fields: [String: String] = [:]
    public var optedOut = false
    public var lastInboundAt: Date?
    public var isTestRecipient = false

    public static let serviceWindow: TimeInterval = 24 * 3600

    public init(waId: String) {
        self.waId = waId
    }

    public func insideServiceWindow(now: Date = Date()) -> Bool {
        guard let lastInboundAt else { return false }
        return now.timeIntervalSince(lastInboundAt) < Self.serviceWindow
    }
}
