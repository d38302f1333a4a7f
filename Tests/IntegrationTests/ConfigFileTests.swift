import CRMSetup
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage
import Testing
import WireModels

/// The YAML config file: every problem listed, `${VAR}` secrets, idempotent loading, and the
/// environment-only account.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConfigFileTests {
    static let good = """
        accounts:
          - waba_id: "102290129340398"
            name: Main BR
            access_token: ${TEST_WA_TOKEN}
            app_secret: ${TEST_WA_APP_SECRET}
            verify_token: plain-verify-token
            phone_numbers:
              - phone_number_id: "106540352242922"
                display_phone_number: "+55 11 3000-0000"
                messages_per_second: 40
                tier: TIER_10K
                department: sales
              - phone_number_id: "106540352242923"
        test_recipients:
          - phone: "+55 11 98765-4321"
            name: QA phone
        users:
          - email: Lead@Example.com
            name: Lead
            role: manager
            department: sales
        """

    let environment = ["TEST_WA_TOKEN": "EAAG-token-from-env", "TEST_WA_APP_SECRET": "app-secret-from-env"]

    @Test func loadingTheSameFileTwiceLeavesTheSameRows() async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "cfg")
        defer { db.close() }
        let logger = Logger(label: "config-test")
        try await MigrationRunner().run(on: db.client, logger: logger)
        let box = try SecretBox(base64Key: SecretBox.generateKey())
        let config = try ConfigFile.parse(
            yaml: Self.good, file: "crm.yaml", environment: environment, canStoreSecrets: true)

        let snapshot = """
            SELECT a.id::text, a.waba_id, a.name, p.id::text, p.phone_number_id, p.messages_per_second, p.messaging_tier,
                   coalesce(p.department, ''), coalesce(p.display_phone_number, '')
            FROM wa_accounts a JOIN wa_phone_numbers p ON p.account_id = a.id
            UNION ALL SELECT phone, coalesce(name, ''), '', '', '', 0, '', '', '' FROM test_recipients
            UNION ALL SELECT id::text, email, name, role, coalesce(department, ''), 0, '', '', '' FROM users
            """
        func rows() async throws -> [String] {
            var out: [String] = []
            for try await row in try await db.client.query(PostgresQuery(unsafeSQL: snapshot)).decode(
                (String, String, String, String, String, Int, String, String, String).self)
            {
                out.append("\(row)")
            }
            return out.sorted()
        }
        let first = try await ConfigApplier.apply(config, box: box, on: db.client, logger: logger)
        #expect(first == .init(accounts: 1, phoneNumbers: 2, testRecipients: 1, users: 1))
        let afterFirst = try await rows()
        _ = try await ConfigApplier.apply(config, box: box, on: db.client, logger: logger)
        #expect(try await rows() == afterFirst)
        #expect(afterFirst.count == 4)
        #expect(afterFirst.contains { $0.contains("106540352242922") && $0.contains("TIER_10K") && $0.contains("40") })
        #expect(afterFirst.contains { $0.contains("+5511987654321") })
        #expect(afterFirst.contains { $0.contains("lead@example.com") && $0.contains("manager") })

        // Secrets from ${VAR}, encrypted; a literal one as written.
        let secrets = try #require(
            try await AccountStore.secrets(wabaId: "102290129340398", box: box, on: db.client, logger: logger))
        #expect(secrets.accessToken == "EAAG-token-from-env")
        #expect(secrets.appSecret == "app-secret-from-env")
        #expect(secrets.verifyToken == "plain-verify-token")

        // A number changed through the API keeps what the file does not set.
        try await db.client.query(
            "UPDATE wa_phone_numbers SET department = 'ops' WHERE phone_number_id = '106540352242923'")
        _ = try await ConfigApplier.apply(config, box: box, on: db.client, logger: logger)
        #expect(try await db.count("SELECT 1 FROM wa_phone_numbers WHERE department = 'ops'") == 1)

        // The environment-only account joins the same way, idempotently, and overrides the file.
        var whatsapp = try ServiceConfig(
            service: "t", defaultAdminPort: 0,
            environment: [
                "WHATSAPP_WABA_ID": "102290129340398", "WHATSAPP_PHONE_NUMBER_ID": "999000111",
                "WHATSAPP_ACCESS_TOKEN": "EAAG-env-override",
            ]
        ).whatsapp
        let merged = config.merging(environment: whatsapp, withSecrets: true)
        _ = try await ConfigApplier.apply(merged, box: box, on: db.client, logger: logger)
        _ = try await ConfigApplier.apply(merged, box: box, on: db.client, logger: logger)
        #expect(try await db.count("SELECT 1 FROM wa_accounts") == 1)
        #expect(try await db.count("SELECT 1 FROM wa_phone_numbers") == 3)
        let overridden = try await AccountStore.secrets(
            wabaId: "102290129340398", box: box, on: db.client, logger: logger)
        #expect(overridden?.accessToken == "EAAG-env-override")
        whatsapp.wabaId = "555"
        let alone = CRMConfig().merging(environment: whatsapp, withSecrets: false)
        #expect(alone.accounts.map(\.wabaId) == ["555"])
        #expect(alone.accounts[0].accessToken == nil)
        #expect(alone.accounts[0].phoneNumbers.map(\.phoneNumberId) == ["999000111"])
    }

    @Test func aBadFileListsEveryProblemWithItsPath() throws {
        let bad = """
            accounts:
              - name: No id
                access_token: ${MISSING_VAR}
                phone_numbers:
                  - phone_number_id: "12a"
                    messages_per_second: 0
                    tier: GOLD
                    colour: blue
              - waba_id: "77"
                phone_numbers:
                  - phone_number_id: "5"
              - waba_id: "77"
                phone_numbers:
                  - phone_number_id: "5"
            test_recipients:
              - phone: "12"
            users:
              - email: someone
                role: owner
            routing_rules: {}
            webhooks: {}
            """
        let error = try #require(
            throws: ConfigFileError.self,
            performing: {
                try ConfigFile.parse(yaml: bad, file: "bad.yaml", environment: [:], canStoreSecrets: true)
            })
        let found = Set(error.problems.map(\.path))
        let expected: Set<String> = [
            "accounts[0].waba_id", "accounts[0].access_token", "accounts[0].phone_numbers[0].phone_number_id",
            "accounts[0].phone_numbers[0].messages_per_second", "accounts[0].phone_numbers[0].tier",
            "accounts[0].phone_numbers[0].colour", "accounts[2].waba_id",
            "accounts[2].phone_numbers[0].phone_number_id",
            "test_recipients[0].phone", "users[0].email", "users[0].name", "users[0].role", "routing_rules", "webhooks",
        ]
        #expect(found == expected, "\(error)")
        #expect(error.problems.allSatisfy { $0.file == "bad.yaml" })
        #expect(error.problems.first { $0.path == "accounts[0].access_token" }?.message.contains("MISSING_VAR") == true)
        #expect(error.problems.first { $0.path == "webhooks" }?.line == 21)
        #expect(error.description.contains("14 problems"))

        // Secrets without a key to encrypt them: refused at start, naming the variable.
        let noKey = try #require(
            throws: ConfigFileError.self,
            performing: {
                try ConfigFile.parse(
                    yaml: Self.good, file: "crm.yaml", environment: environment, canStoreSecrets: false)
            })
        #expect(noKey.problems.map(\.path) == ["accounts[0]"])
        #expect(noKey.description.contains("CRM_SECRET_KEY"))
        #expect(!noKey.description.contains("EAAG-token-from-env"))

        // Syntax errors keep the position and never quote the file.
        let syntax = try #require(
            throws: ConfigFileError.self,
            performing: {
                try ConfigFile.parse(
                    yaml: "accounts:\n  - waba_id: [\"1\"\n    access_token: s3cr3t", file: "x.yaml", environment: [:],
                    canStoreSecrets: true)
            })
        #expect(syntax.problems.count == 1)
        #expect(!syntax.description.contains("s3cr3t"))
    }

    @Test func theExampleConfigIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("config/crm.example.yaml").path
        let env = ["WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v"]
        let config = try ConfigFile.load(path: path, environment: env, canStoreSecrets: true)
        #expect(!config.accounts.isEmpty)
        #expect(!config.testRecipients.isEmpty)
    }
}
