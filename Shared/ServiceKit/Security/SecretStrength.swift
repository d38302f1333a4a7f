/// A gateway published with a development secret is open to anyone who has read our docs:
/// outside dev mode (`CRM_DEV_MODE=1`, set by `make run` and the tests) it refuses to start
/// with a placeholder or short `CRM_BOOTSTRAP_TOKEN`, `WHATSAPP_APP_SECRET` or
/// `WHATSAPP_VERIFY_TOKEN`, naming each variable (never its value).
public enum SecretStrength {
    /// Values our own files ship as defaults or examples.
    static let placeholders: Set<String> = [
        "crm_dev_change_me", "dev-app-secret", "dev-verify-token", "dev-access-token", "change_me", "changeme",
        "secret", "password",
    ]

    /// The problems, one per variable; empty when the configuration may start.
    public static func problems(_ config: ServiceConfig, devMode: Bool) -> [String] {
        guard !devMode else { return [] }
        var out: [String] = []
        func check(_ name: String, _ values: [String], minimum: Int) {
            for value in values {
                let lower = value.lowercased()
                if placeholders.contains(lower) || lower.contains("replace_me") || lower.contains("change_me") {
                    out.append("\(name) is a placeholder from the examples")
                } else if value.utf8.count < minimum {
                    out.append("\(name) is shorter than \(minimum) characters")
                }
            }
        }
        check("CRM_BOOTSTRAP_TOKEN", config.bootstrapToken.map { [$0] } ?? [], minimum: 24)
        check("WHATSAPP_APP_SECRET", config.whatsapp.appSecrets, minimum: 16)
        check("WHATSAPP_VERIFY_TOKEN", config.whatsapp.verifyTokens, minimum: 16)
        if let key = config.secretKey, key.lowercased().contains("replace_me") {
            out.append("CRM_SECRET_KEY is a placeholder from the examples")
        }
        return out
    }

    /// Throws a start-up error listing every weak secret (outside dev mode).
    public static func check(_ config: ServiceConfig, environment: Environment) throws {
        let dev = ["1", "true", "yes"].contains((environment["CRM_DEV_MODE"] ?? "0").lowercased())
        let found = problems(config, devMode: dev)
        guard found.isEmpty else {
            throw ConfigError(
                "refusing to start with weak secrets: " + found.joined(separator: "; ")
                    + " (set real values, or CRM_DEV_MODE=1 on a machine nobody else can reach)")
        }
    }
}
