import Foundation
import Logging
import PostgresNIO

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

    public static func load(
        phoneNumberId: String, defaultWabaId: String?, on client: PostgresClient, logger: Logger
    ) async throws -> NumberSettings {
        let rows = try await client.query(
            """
            SELECT p.messages_per_second, p.messaging_tier, a.waba_id FROM wa_phone_numbers p
            LEFT JOIN wa_accounts a ON a.id = p.account_id WHERE p.phone_number_id = \(phoneNumberId)
            """, logger: logger)
        for try await (mps, tier, waba) in rows.decode((Int, String, String?).self) {
            return NumberSettings(
                phoneNumberId: phoneNumberId, messagesPerSecond: mps, messagingTier: tier, wabaId: waba ?? defaultWabaId
            )
        }
        return NumberSettings(
            phoneNumberId: phoneNumberId, messagesPerSecond: defaultMPS, messagingTier: "TIER_1K",
            wabaId: defaultWabaId)
    }
}
