import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// Writes a validated config into the database in one transaction, idempotently: accounts
/// by `waba_id`, numbers by `phone_number_id`, test recipients by phone, users by email. A
/// second load of the same file leaves the same rows. Records the API changed and the file
/// does not mention are left alone; fields the file leaves out keep their stored values.
public enum ConfigApplier {
    public struct Summary: Sendable, Equatable, CustomStringConvertible {
        public var accounts = 0
        public var phoneNumbers = 0
        public var testRecipients = 0
        public var users = 0
        public var sections: [String] = []

        public init(
            accounts: Int = 0, phoneNumbers: Int = 0, testRecipients: Int = 0, users: Int = 0, sections: [String] = []
        ) {
            self.accounts = accounts
            self.phoneNumbers = phoneNumbers
            self.testRecipients = testRecipients
            self.users = users
            self.sections = sections
        }

        public var description: String {
            "accounts: \(accounts), phone numbers: \(phoneNumbers), test recipients: \(testRecipients), users: \(users)"
                + (sections.isEmpty ? "" : ", sections: \(sections.joined(separator: ", "))")
        }
    }

    public static func apply(_ config: CRMConfig, box: SecretBox?, on client: PostgresClient, logger: Logger)
        async throws -> Summary
    {
        try await client.transaction(logger: logger) { conn in
            var summary = Summary()
            for account in config.accounts {
                let secrets: AccountSecretChanges
                if account.hasSecrets {
                    guard let box else { throw SecretBoxError.missingKey }
                    secrets = AccountSecretChanges(
                        accessToken: account.accessToken, appSecret: account.appSecret,
                        verifyToken: account.verifyToken, box: box)
                } else {
                    secrets = AccountSecretChanges()
                }
                let row = try await AccountStore.upsert(
                    wabaId: account.wabaId, name: account.name, secrets: secrets, on: conn, logger: logger)
                summary.accounts += 1
                for number in account.phoneNumbers {
                    var f = PhoneNumberFields()
                    if let v = number.displayPhoneNumber { f.displayPhoneNumber = .set(v) }
                    if let v = number.messagesPerSecond { f.messagesPerSecond = .set(v) }
                    if let v = number.tier { f.tier = .set(v) }
                    if let v = number.department { f.department = .set(v) }
                    _ = try await PhoneNumberStore.upsert(
                        phoneNumberId: number.phoneNumberId, accountId: row.id, f, on: conn, logger: logger)
                    summary.phoneNumbers += 1
                }
            }
            for r in config.testRecipients {
                try await TestRecipientStore.upsert(phone: r.phone, name: r.name, on: conn, logger: logger)
                summary.testRecipients += 1
            }
            for u in config.users {
                _ = try await UserStore.upsert(
                    email: u.email, name: u.name, role: u.role, department: u.department, on: conn, logger: logger)
                summary.users += 1
            }
            for section in config.sectionWrites {
                try await section.write(conn, logger)
                summary.sections.append(section.key)
            }
            return summary
        }
    }
}

/// What the gateway does at start (and `crmctl config load`): read `CRM_CONFIG_FILE` if set,
/// add the environment-only account, and check that secrets can be stored. Runs before the
/// service starts so a bad file stops it with every problem listed.
public enum StartupConfig {
    public static func read(_ config: ServiceConfig, environment: [String: String]) throws -> (CRMConfig, SecretBox?) {
        let box = try config.secretBox()
        var crm = CRMConfig()
        if let path = config.configFile {
            crm = try ConfigFile.load(path: path, environment: environment, canStoreSecrets: box != nil)
        }
        return (crm.merging(environment: config.whatsapp, withSecrets: box != nil), box)
    }
}
