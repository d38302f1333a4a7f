import Crypto
import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

/// `CRM_SECRET_KEY` rotation on real PostgreSQL: secrets sealed under the old key (and in the
/// form from before key ids) are re-sealed under the new one by `crmctl secrets rotate`, after
/// which the new key alone opens them all.
@Suite(.timeLimit(.minutes(2)))
struct SecretRotationTests {
    let logger = Logger(label: "secret-rotation-tests")

    @Test func rotationReSealsEveryStoredSecretUnderTheNewKey() async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "rotate")
        defer { db.close() }
        try await MigrationRunner().run(on: db.client, logger: logger)
        let old = SecretBox.generateKey()
        let new = SecretBox.generateKey()
        let oldBox = try SecretBox(base64Key: old)
        let logger = self.logger
        try await db.client.withTransaction(logger: logger) { conn in
            _ = try await AccountStore.create(
                wabaId: "1001", name: "Main",
                secrets: AccountSecretChanges(
                    accessToken: "EAAG-main", appSecret: "app-main", verifyToken: nil, box: oldBox),
                on: conn, logger: logger)
        }
        // A value stored before key ids: AES-GCM under the old key, no associated data.
        let legacy = try AES.GCM.seal(
            Array("EAAG-legacy".utf8), using: SymmetricKey(data: Data(base64Encoded: old)!)
        ).combined!
        try await db.client.query(
            "INSERT INTO wa_accounts (waba_id, name, access_token_enc) VALUES ('1002', 'Legacy', \(Data(legacy)))")
        // An outbound webhook saved before signing secrets were encrypted: in clear.
        try await db.client.query(
            """
            INSERT INTO outbound_webhooks (url, events, secret, created_by)
            VALUES ('https://hooks.example.com/x', '{*}', 'whsec-legacy-0123456789', 'test')
            """)

        // The new key alone opens nothing yet.
        let newOnly = try SecretBox(base64Key: new)
        await #expect(throws: SecretBoxError.self) {
            _ = try await AccountStore.secrets(wabaId: "1001", box: newOnly, on: db.client, logger: logger)
        }

        // `crmctl secrets rotate` with the new key and the old one as previous.
        let logDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "crm-rotate-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let crmctl = try ServiceProcess(
            binDir: env.binDir, name: "crmctl",
            environment: ["DATABASE_URL": db.url, "CRM_SECRET_KEY": new, "CRM_SECRET_KEY_PREVIOUS": old],
            logDir: logDir, arguments: ["secrets", "rotate"])
        let exit = try await crmctl.waitForExit(timeout: .seconds(60))
        #expect(exit.status == 0, "\(crmctl.logTail())")
        #expect(crmctl.logTail().contains("re-sealed 4 secret(s) under key \(newOnly.keyId)"), "\(crmctl.logTail())")
        // The webhook's secret is sealed now, bound to its row, and no longer in clear.
        for try await (id, clear, sealed) in try await db.client.query(
            "SELECT id, secret, secret_enc FROM outbound_webhooks"
        ).decode((UUID, String?, Data?).self) {
            #expect(clear == nil)
            let opened = try newOnly.open(
                Array(try #require(sealed)), context: OutboundWebhookStore.secretContext(id))
            #expect(opened == "whsec-legacy-0123456789")
        }

        let main = try await AccountStore.secrets(wabaId: "1001", box: newOnly, on: db.client, logger: logger)
        #expect(main?.accessToken == "EAAG-main" && main?.appSecret == "app-main" && main?.verifyToken == nil)
        let legacyRow = try await AccountStore.secrets(wabaId: "1002", box: newOnly, on: db.client, logger: logger)
        #expect(legacyRow?.accessToken == "EAAG-legacy")
        #expect(try await AccountStore.rotateSecrets(box: newOnly, on: db.client, logger: logger) == 0)

        // A sealed value copied onto another account does not open there.
        try await db.client.query(
            """
            UPDATE wa_accounts SET access_token_enc = (SELECT access_token_enc FROM wa_accounts WHERE waba_id = '1001')
            WHERE waba_id = '1002'
            """)
        await #expect(throws: SecretBoxError.wrongKeyOrCorrupt) {
            _ = try await AccountStore.secrets(wabaId: "1002", box: newOnly, on: db.client, logger: logger)
        }
    }
}
