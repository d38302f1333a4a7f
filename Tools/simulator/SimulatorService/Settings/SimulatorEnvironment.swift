import Foundation
import ServiceKit

extension CloudAPISimulator.Settings {
    /// The simulator's settings from its environment:
    ///
    /// | variable | default | meaning |
    /// |---|---|---|
    /// | HTTP_PORT | 8090 | listen port (Graph API, `/_sim`, `/healthz`, `/readyz`, `/metrics`) |
    /// | WHATSAPP_ACCESS_TOKEN | dev-access-token | the only bearer token accepted (else 401, code 190) |
    /// | WHATSAPP_APP_SECRET | unset | signs webhooks (`X-Hub-Signature-256`) with the first secret |
    /// | WHATSAPP_WABA_ID | 100000000000001 | `entry[].id` of webhooks; the only WABA with templates |
    /// | WHATSAPP_PHONE_NUMBER_ID | 100000000000002 | business number of inbound load |
    /// | SIMULATOR_WEBHOOK_URL | unset | where statuses and inbound load go; unset/empty = nowhere |
    /// | SIMULATOR_STATUS_DELAY_MS | 200 | pause before each status webhook |
    /// | SIMULATOR_TEMPLATES_FILE | bundled | template fixture (`{"data": [...]}`); default: `BundledTemplates` |
    /// | SIMULATOR_MPS | 80 | messages per second per business number (token bucket, burst = 1 s); 0 = unlimited |
    /// | SIMULATOR_FAULTS | none | faults (`FaultSpec`): `*0047=131047,*0001=131026@status,~0.05=130429`, `demo`, or JSON |
    /// | SIMULATOR_SHUFFLE_STATUSES | false | post each send's statuses in random order |
    /// | SIMULATOR_DUPLICATE_STATUSES | 0 | fraction (0…1, or true = 1) of status webhooks posted twice |
    /// | SIMULATOR_SEED | random | seed of rate faults, shuffles and duplicates (reproducible runs) |
    /// | SIMULATOR_WEBHOOK_RETRY_SECONDS | 120 | how long a refused or failed webhook post is retried |
    public static func from(config: ServiceConfig, environment env: [String: String]) throws -> Self {
        func value(_ raw: String?) -> String? {
            guard let raw = raw?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        let templates =
            try value(env["SIMULATOR_TEMPLATES_FILE"]).map { try TemplateCatalog(file: $0) }
            ?? TemplateCatalog.bundledCatalog
        var faults = try value(env["SIMULATOR_FAULTS"]).map { try FaultSpec.parse($0) } ?? FaultConfig()
        if let raw = value(env["SIMULATOR_SHUFFLE_STATUSES"]) {
            faults.shuffleStatuses = try flag("SIMULATOR_SHUFFLE_STATUSES", raw)
        }
        if let raw = value(env["SIMULATOR_DUPLICATE_STATUSES"]) {
            faults.duplicateStatuses = try fraction("SIMULATOR_DUPLICATE_STATUSES", raw)
        }
        if let raw = value(env["SIMULATOR_SEED"]) {
            guard let seed = UInt64(raw) else {
                throw ConfigError("SIMULATOR_SEED must be a whole number, got '\(raw)'")
            }
            faults.seed = seed
        }
        let mps = try value(env["SIMULATOR_MPS"]).map { raw in
            guard let mps = Double(raw), mps >= 0 else {
                throw ConfigError("SIMULATOR_MPS must be a number ≥ 0 (0 = unlimited), got '\(raw)'")
            }
            return mps
        }
        let delay = try value(env["SIMULATOR_STATUS_DELAY_MS"]).map { raw in
            guard let ms = Int(raw), ms >= 0 else {
                throw ConfigError("SIMULATOR_STATUS_DELAY_MS must be a whole number ≥ 0, got '\(raw)'")
            }
            return ms
        }
        let retry = try value(env["SIMULATOR_WEBHOOK_RETRY_SECONDS"]).map { raw in
            guard let seconds = Int(raw), seconds >= 0 else {
                throw ConfigError("SIMULATOR_WEBHOOK_RETRY_SECONDS must be a whole number ≥ 0, got '\(raw)'")
            }
            return seconds
        }
        var settings = Self(
            accessToken: config.whatsapp.accessToken ?? "dev-access-token", appSecret: config.whatsapp.appSecrets.first,
            webhookURL: value(env["SIMULATOR_WEBHOOK_URL"]), wabaId: config.whatsapp.wabaId ?? "100000000000001",
            statusDelay: .milliseconds(delay ?? 200),
            phoneNumberId: config.whatsapp.phoneNumberId ?? "100000000000002", mps: mps ?? 80, faults: faults,
            templates: templates)
        if let retry { settings.webhookRetry = .seconds(retry) }
        return settings
    }

    /// true/false, 1/0, yes/no.
    static func flag(_ name: String, _ raw: String) throws -> Bool {
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError("\(name) must be true or false, got '\(raw)'")
        }
    }

    /// A fraction in 0…1, or true (= 1) / false (= 0).
    static func fraction(_ name: String, _ raw: String) throws -> Double {
        if let value = Double(raw), (0...1).contains(value) { return value }
        if let on = try? flag(name, raw) { return on ? 1 : 0 }
        throw ConfigError("\(name) must be a fraction in 0...1 or true/false, got '\(raw)'")
    }
}
