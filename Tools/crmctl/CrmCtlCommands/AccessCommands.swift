import ArgumentParser
import CRMSetup
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `crmctl users create`: the way to add users before any API token exists (or besides the
/// API). Writes are audited with the actor `crmctl`.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "API users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user (or update name, role and department of the one with this email).")
        @Option(help: "Email (unique; identifies the user).") var email: String
        @Option(help: "Display name.") var name: String
        @Option(help: "admin, manager or agent.") var role: String
        @Option(help: "Department (optional).") var department: String?

        func validate() throws {
            guard ["admin", "manager", "agent"].contains(role) else {
                throw ValidationError("--role must be admin, manager or agent")
            }
            guard email.contains("@") else { throw ValidationError("--email must be an email address") }
        }

        func run() async throws {
            let (config, logger) = try setUp()
            let user = try await withPostgres(config, logger: logger) { client in
                try await MigrationRunner().run(on: client, logger: logger)
                return try await client.transaction(logger: logger) { conn in
                    let user = try await UserStore.upsert(
                        email: email.lowercased(), name: name, role: role, department: department, on: conn,
                        logger: logger)
                    try await AuditStore.record(
                        actor: "crmctl", action: "upsert", entity: "user", entityId: user.id.uuidString.lowercased(),
                        before: nil, after: try JSONValue(encoding: user), on: conn, logger: logger)
                    return user
                }
            }
            print("user \(user.id.uuidString.lowercased()) \(user.email ?? "") (\(user.role))")
        }
    }
}

/// `crmctl tokens create`: prints a new API token once (only its hash is stored).
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token for a user and print it (shown only now).")
        @Option(help: "The user's email or id.") var user: String
        @Option(help: "A name for the token (what it is used for).") var name: String
        @Option(help: "Expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z); default: never.") var expiresAt: String?

        func run() async throws {
            let (config, logger) = try setUp()
            var expiry: Date?
            if let expiresAt {
                guard let d = RFC3339.date(from: expiresAt), d > Date() else {
                    throw ValidationError("--expires-at must be an RFC 3339 time in the future")
                }
                expiry = d
            }
            let expires = expiry
            let who = user.lowercased()
            let token = try await withPostgres(config, logger: logger) { client in
                try await client.transaction(logger: logger) { conn -> String in
                    guard let userId = try await UserStore.activeId(email: who, orId: true, on: conn, logger: logger)
                    else { throw ValidationError("no active user \(user)") }
                    let (row, token) = try await TokenStore.create(
                        userId: userId, name: name, expiresAt: expires, createdBy: nil, on: conn, logger: logger)
                    try await AuditStore.record(
                        actor: "crmctl", action: "create", entity: "token", entityId: row.id.uuidString.lowercased(),
                        before: nil, after: try JSONValue(encoding: row), on: conn, logger: logger)
                    return token
                }
            }
            print(token)
        }
    }
}

/// `crmctl config check|load FILE`: validates a config file (every problem listed) and loads it.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The YAML config file (accounts, numbers, test recipients, users).",
        subcommands: [Check.self, Load.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a config file; list every problem.")
        @Argument(help: "The YAML file.") var file: String

        func run() async throws {
            let (config, _) = try setUp()
            let parsed = try ConfigFile.load(
                path: file, environment: ProcessInfo.processInfo.environment,
                canStoreSecrets: try config.secretBox() != nil)
            print("\(file): valid (\(parsed))")
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a config file and write it to the database (idempotent; as the gateway does at start).")
        @Argument(help: "The YAML file.") var file: String

        func run() async throws {
            let (base, logger) = try setUp()
            var config = base
            config.configFile = file
            let (crm, box) = try StartupConfig.read(config, environment: ProcessInfo.processInfo.environment)
            let summary = try await withPostgres(config, logger: logger) { client in
                try await MigrationRunner().run(on: client, logger: logger)
                return try await ConfigApplier.apply(crm, box: box, on: client, logger: logger)
            }
            print("loaded \(file): \(summary)")
        }
    }
}
