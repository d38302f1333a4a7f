import ArgumentParser
import Foundation
import ServiceKit
import Storage

/// `crmctl secrets rotate`: after deploying a new `CRM_SECRET_KEY` with the old one in
/// `CRM_SECRET_KEY_PREVIOUS`, re-seals every stored secret under the new key; then the old key
/// can be dropped. Safe to run again (nothing left to re-seal) and while services run.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Stored account secrets.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every stored secret under CRM_SECRET_KEY (older keys in CRM_SECRET_KEY_PREVIOUS).")

        func run() async throws {
            let (config, logger) = try setUp()
            guard let box = try config.secretBox() else { throw SecretBoxError.missingKey }
            let count = try await withPostgres(config, logger: logger) { client in
                try await MigrationRunner().run(on: client, logger: logger)
                return try await AccountStore.rotateSecrets(box: box, on: client, logger: logger)
            }
            print("re-sealed \(count) secret(s) under key \(box.keyId)")
        }
    }
}
