import CRMCore
import Foundation
import Logging
import Outbound
import PostgresNIO
import Synchronization

/// `wa_phone_numbers` settings, re-read at most every 30 s: an mps or tier change made through
/// the API reaches every replica within that time without a query per send.
final class NumberSettingsCache: Sendable {
    static let ttl: TimeInterval = 30

    let postgres: PostgresClient
    let defaultWabaId: String?
    let logger: Logger
    let entries = Mutex([String: (NumberSettings, Date)]())

    init(postgres: PostgresClient, defaultWabaId: String?, logger: Logger) {
        self.postgres = postgres
        self.defaultWabaId = defaultWabaId
        self.logger = logger
    }

    func get(_ phoneNumberId: String) async throws -> NumberSettings {
        let now = Date()
        if let entry = entries.withLock({ $0[phoneNumberId] }), now.timeIntervalSince(entry.1) < Self.ttl {
            return entry.0
        }
        let settings = try await NumberSettings.load(
            phoneNumberId: phoneNumberId, defaultWabaId: defaultWabaId, on: postgres, logger: logger)
        entries.withLock { $0[phoneNumberId] = (settings, now) }
        return settings
    }
}
