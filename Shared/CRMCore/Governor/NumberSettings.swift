import Foundation

/// A business number's limits as configured in `wa_phone_numbers` (the YAML loader and the
/// phone-numbers API fill it): messages per second and the messaging tier. A number without a
/// row sends at Meta's default 80 mps with the 1K tier.
public struct NumberSettings: Sendable, Equatable {
    public var phoneNumberId: String
    public var messagesPerSecond: Int
    public var messagingTier: String
    public var wabaId: String?

    public static let defaultMPS = 80

    public init(phoneNumberId: String, messagesPerSecond: Int, messagingTier: String, wabaId: String?) {
        self.phoneNumberId = phoneNumberId
        self.messagesPerSecond = messagesPerSecond
        self.messagingTier = messagingTier
        self.wabaId = wabaId
    }

    /// Unique recipients per rolling 24 h; nil = unlimited.
    public var tierLimit: Int? { Self.tierLimit(messagingTier) }

    public static func tierLimit(_ tier: String) -> Int? {
        switch tier.uppercased() {
        case "TIER_50": return 50
        case "TIER_250": return 250
        case "TIER_1K": return 1_000
        case "TIER_2K": return 2_000
        case "TIER_10K": return 10_000
        case "TIER_100K": return 100_000
        case "TIER_UNLIMITED", "UNLIMITED": return nil
        default: return 1_000
        }
    }
}
