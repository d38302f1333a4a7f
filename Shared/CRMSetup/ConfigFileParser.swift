import Foundation
import ServiceKit
import WireModels
import Yams

/// Reads and validates a config file (`CRM_CONFIG_FILE`, `crmctl config load`). Every problem
/// is collected (file, path, line, message); any problem fails the whole file, so a file is
/// applied completely or not at all. See `config/crm.example.yaml`.
public enum ConfigFile {
    public static func load(path: String, environment: [String: String], canStoreSecrets: Bool) throws -> CRMConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigFileError(problems: [
                ConfigProblem(
                    file: path, path: "", line: nil, message: "cannot read the file: \(error.localizedDescription)")
            ])
        }
        return try parse(yaml: text, file: path, environment: environment, canStoreSecrets: canStoreSecrets)
    }

    public static func parse(yaml: String, file: String, environment: [String: String], canStoreSecrets: Bool) throws
        -> CRMConfig
    {
        var reader = ConfigReader(file: file, environment: environment)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigFileError(problems: [syntaxProblem(error, file: file)])
        }
        var config = CRMConfig()
        guard let root else { return config }  // an empty file configures nothing
        let sections = Dictionary(uniqueKeysWithValues: ConfigSections.extra.map { ($0.key, $0) })
        let allowed = ConfigSections.builtIn.union(sections.keys).union(ConfigSections.reserved.keys)
        guard let top = reader.mapping(ConfigNode(node: root, path: ""), allowed: allowed) else {
            throw ConfigFileError(problems: reader.problems)
        }
        for (key, node) in top.sorted(by: { $0.key < $1.key }) {
            if let section = sections[key] {
                if let write = section.read(&reader, node) { config.sectionWrites.append((key, write)) }
            } else if let note = ConfigSections.reserved[key] {
                reader.problem(node, note)
            }
        }
        if let n = top["accounts"] {
            config.accounts = reader.sequence(n).compactMap { readAccount($0, &reader) }
        }
        if let n = top["test_recipients"] {
            config.testRecipients = reader.sequence(n).compactMap { readRecipient($0, &reader) }
        }
        if let n = top["users"] {
            config.users = reader.sequence(n).compactMap { readUser($0, &reader) }
        }
        if !canStoreSecrets {
            for (i, account) in config.accounts.enumerated() where account.hasSecrets {
                reader.problem(
                    path: "accounts[\(i)]", line: nil,
                    "has secrets but CRM_SECRET_KEY is not set, so they cannot be stored encrypted")
            }
        }
        guard reader.problems.isEmpty else { throw ConfigFileError(problems: reader.problems) }
        return config
    }

    static func readAccount(_ n: ConfigNode, _ r: inout ConfigReader) -> CRMConfig.Account? {
        guard
            let m = r.mapping(
                n, allowed: ["waba_id", "name", "access_token", "app_secret", "verify_token", "phone_numbers"],
                required: ["waba_id"])
        else { return nil }
        let wabaId = r.string(m["waba_id"])
        if let wabaId { r.unique("waba_id", wabaId, at: m["waba_id"]) }
        if let wabaId, !wabaId.allSatisfy(\.isNumber), let node = m["waba_id"] {
            r.problem(node, "Meta's numeric WhatsApp Business Account id")
        }
        var account = CRMConfig.Account(
            wabaId: wabaId ?? "", name: r.string(m["name"]) ?? "WhatsApp account \(wabaId ?? "")",
            accessToken: r.secret(m["access_token"]), appSecret: r.secret(m["app_secret"]),
            verifyToken: r.secret(m["verify_token"]))
        if let numbers = m["phone_numbers"] {
            account.phoneNumbers = r.sequence(numbers).compactMap { readPhoneNumber($0, &r) }
        }
        return wabaId == nil ? nil : account
    }

    static func readPhoneNumber(_ n: ConfigNode, _ r: inout ConfigReader) -> CRMConfig.PhoneNumber? {
        guard
            let m = r.mapping(
                n,
                allowed: ["phone_number_id", "display_phone_number", "messages_per_second", "tier", "department"],
                required: ["phone_number_id"])
        else { return nil }
        let id = r.string(m["phone_number_id"])
        if let id { r.unique("phone_number_id", id, at: m["phone_number_id"]) }
        if let id, !id.allSatisfy(\.isNumber), let node = m["phone_number_id"] {
            r.problem(node, "Meta's numeric phone number id")
        }
        let number = CRMConfig.PhoneNumber(
            phoneNumberId: id ?? "", displayPhoneNumber: r.string(m["display_phone_number"]),
            messagesPerSecond: r.int(m["messages_per_second"], range: 1...1000),
            tier: r.oneOf(m["tier"], ["TIER_50", "TIER_250", "TIER_1K", "TIER_10K", "TIER_100K", "UNLIMITED"]),
            department: r.string(m["department"]))
        return id == nil ? nil : number
    }

    static func readRecipient(_ n: ConfigNode, _ r: inout ConfigReader) -> CRMConfig.TestRecipient? {
        guard let m = r.mapping(n, allowed: ["phone", "name"], required: ["phone"]), let raw = r.string(m["phone"])
        else { return nil }
        guard let phone = PhoneNumber.e164(raw) else {
            r.problem(m["phone"]!, "not a valid international phone number")
            return nil
        }
        r.unique("phone", phone, at: m["phone"])
        return CRMConfig.TestRecipient(phone: phone, name: r.string(m["name"]))
    }

    static func readUser(_ n: ConfigNode, _ r: inout ConfigReader) -> CRMConfig.User? {
        guard
            let m = r.mapping(
                n, allowed: ["email", "name", "role", "department"], required: ["email", "name", "role"])
        else { return nil }
        let email = r.string(m["email"])?.lowercased()
        if let email { r.unique("email", email, at: m["email"]) }
        if let email, !email.contains("@"), let node = m["email"] { r.problem(node, "an email address") }
        let name = r.string(m["name"])
        let role = r.oneOf(m["role"], ["admin", "manager", "agent"])
        let department = r.string(m["department"])
        guard let email, let name, let role else { return nil }
        return CRMConfig.User(email: email, name: name, role: role, department: department)
    }

    /// Yams' own description quotes the offending lines (which may hold a secret): keep the
    /// problem and the position only.
    static func syntaxProblem(_ error: YamlError, file: String) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigProblem(file: file, path: "", line: mark.line, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, _):
            return ConfigProblem(
                file: file, path: "", line: nil,
                message:
                    "not valid YAML: duplicated keys \(duplicates.map { "\($0)" }.sorted().joined(separator: ", "))")
        default:
            return ConfigProblem(file: file, path: "", line: nil, message: "not valid YAML")
        }
    }
}
