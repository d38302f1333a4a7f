import CRMCore
import Foundation
import Logging
import PostgresNIO

extension NumberSettings {
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
