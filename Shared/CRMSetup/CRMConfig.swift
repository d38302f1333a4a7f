import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// What a config file (and the environment-only account) puts into the database: accounts
/// with their phone numbers, test recipients and users. Secrets are clear here (after
/// `${VAR}` resolution) and are encrypted when applied; `description` never shows them.
public struct CRMConfig: Sendable, CustomStringConvertible {
    public struct Account: Sendable, Equatable {
        public var wabaId: String
        public var name: String
        public var accessToken: String?
        public var appSecret: String?
        public var verifyToken: String?
        public var phoneNumbers: [PhoneNumber] = []

        var hasSecrets: Bool { accessToken != nil || appSecret != nil || verifyToken != nil }
    }

    public struct PhoneNumber: Sendable, Equatable {
        public var phoneNumberId: String
        public var displayPhoneNumber: String?
        public var messagesPerSecond: Int?
        public var tier: String?
        public var department: String?
    }

    public struct TestRecipient: Sendable, Equatable {
        /// E.164 (`+5511987654321`).
        public var phone: String
        public var name: String?
    }

    public struct User: Sendable, Equatable {
        public var email: String
        public var name: String
        public var role: String
        public var department: String?
    }

    public var accounts: [Account] = []
    public var testRecipients: [TestRecipient] = []
    public var users: [User] = []
    /// Writes of the sections plugged in through `ConfigSections.extra`, by section key.
    var sectionWrites: [(key: String, write: ConfigSection.Write)] = []

    public init() {}

    public var description: String {
        "CRMConfig(accounts: \(accounts.count), phone numbers: \(accounts.map(\.phoneNumbers.count).reduce(0, +)), "
            + "test recipients: \(testRecipients.count), users: \(users.count), "
            + "sections: \(sectionWrites.map(\.key)))"
    }

    /// Adds the single account configured by environment alone (WHATSAPP_WABA_ID,
    /// WHATSAPP_PHONE_NUMBER_ID, …). The environment wins over the file for that account
    /// (as it overrides the dev config under `make run`). Secrets are taken only when they
    /// can be stored encrypted; otherwise they stay in the environment, where the services
    /// read them today.
    public func merging(environment whatsapp: WhatsAppConfig, withSecrets: Bool) -> CRMConfig {
        guard let wabaId = whatsapp.wabaId else { return self }
        var out = self
        var account =
            out.accounts.first { $0.wabaId == wabaId }
            ?? Account(wabaId: wabaId, name: "WhatsApp account \(wabaId)")
        if withSecrets {
            account.accessToken = whatsapp.accessToken ?? account.accessToken
            account.appSecret = whatsapp.appSecrets.first ?? account.appSecret
            account.verifyToken = whatsapp.verifyTokens.first ?? account.verifyToken
        }
        if let pnid = whatsapp.phoneNumberId,
            !out.accounts.contains(where: { $0.phoneNumbers.contains { $0.phoneNumberId == pnid } })
        {
            account.phoneNumbers.append(PhoneNumber(phoneNumberId: pnid))
        }
        if let i = out.accounts.firstIndex(where: { $0.wabaId == wabaId }) {
            out.accounts[i] = account
        } else {
            out.accounts.append(account)
        }
        return out
    }
}

/// A top-level section owned by another part of the system (routing rules, templates): it
/// reads its node (recording problems in the reader) and returns the write to run in the
/// load transaction, after accounts, numbers, recipients and users.
struct ConfigSection: Sendable {
    typealias Write = @Sendable (PostgresConnection, Logger) async throws -> Void
    let key: String
    let read: @Sendable (inout ConfigReader, ConfigNode) -> Write?
}

/// Extension points of the config file.
enum ConfigSections {
    /// Register the readers of `routing_rules` and `templates` here (one file each beside
    /// this one); a registered key is accepted at the top level and no longer reserved.
    static let extra: [ConfigSection] = [RoutingRulesSection.section]

    /// Sections that are planned but not loaded by this version: present in a file, they are
    /// a problem (never silently ignored).
    static let reserved: [String: String] = [
        "templates": "templates are not loaded from the config file by this version"
    ]

    /// Keys the file's top level may have.
    static let builtIn: Set<String> = ["accounts", "test_recipients", "users"]
}
