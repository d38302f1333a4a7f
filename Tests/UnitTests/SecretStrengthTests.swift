import ServiceKit
import Testing

/// The gateway does not start on a published port with the secrets our examples ship.
struct SecretStrengthTests {
    static func config(_ env: [String: String]) throws -> ServiceConfig {
        try ServiceConfig(service: "gateway", defaultAdminPort: 0, environment: env)
    }

    @Test func placeholdersAndShortSecretsAreRefusedOutsideDevMode() throws {
        let composeDefaults = try Self.config([
            "CRM_BOOTSTRAP_TOKEN": "crm_dev_change_me", "WHATSAPP_APP_SECRET": "dev-app-secret",
            "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
        ])
        let problems = SecretStrength.problems(composeDefaults, devMode: false)
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.allSatisfy { !$0.contains("dev-app-secret") && !$0.contains("crm_dev") }, "values never shown")
        let kubernetesExample = try Self.config([
            "CRM_BOOTSTRAP_TOKEN": "REPLACE_ME_with_a_long_random_token", "CRM_SECRET_KEY": "REPLACE_ME_with_openssl",
        ])
        #expect(SecretStrength.problems(kubernetesExample, devMode: false).count == 2)
        let short = try Self.config(["CRM_BOOTSTRAP_TOKEN": "abc123", "WHATSAPP_APP_SECRET": "a,0123456789abcdef"])
        #expect(
            SecretStrength.problems(short, devMode: false) == [
                "CRM_BOOTSTRAP_TOKEN is shorter than 24 characters",
                "WHATSAPP_APP_SECRET is shorter than 16 characters",
            ])
        #expect(throws: ConfigError.self) {
            try SecretStrength.check(composeDefaults, environment: Environment(values: [:]))
        }
    }

    @Test func realSecretsOrDevModeStart() throws {
        let real = try Self.config([
            "CRM_BOOTSTRAP_TOKEN": "crm_3f9a1c7e5b2d48a6b0c4e1f7a9d3b5c2",
            "WHATSAPP_APP_SECRET": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "WHATSAPP_VERIFY_TOKEN": "verify-8d7c6b5a4f3e2d1c",
        ])
        #expect(SecretStrength.problems(real, devMode: false).isEmpty)
        let dev = try Self.config(["CRM_BOOTSTRAP_TOKEN": "crm_dev_change_me"])
        try SecretStrength.check(dev, environment: Environment(values: ["CRM_DEV_MODE": "1"]))
        // Nothing set: nothing to refuse (the gateway then accepts no webhook and has no bootstrap admin).
        #expect(SecretStrength.problems(try Self.config([:]), devMode: false).isEmpty)
    }
}
