import CRMCore
import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The config file's `routing_rules` section: a list of owner routing rules, upserted by
/// `name` (a rule the file names gets exactly the file's fields; rules only the API knows are
/// left alone). Validation is `RoutingRuleSpec.problems`, as in the API, and each problem
/// names its path and line. Owners are written by email (`assign: {owner: ana@example.com}`)
/// and resolved when the file is applied, after the file's own `users`.
enum RoutingRulesSection {
    static let section = ConfigSection(key: "routing_rules") { reader, node in
        RoutingRulesSection.read(&reader, node)
    }

    static let fields: Set<String> = [
        "name", "position", "active", "kind", "values", "assign", "contact_owner", "open_lead",
    ]

    /// A rule of the file, with what its write needs to report a problem where it was written.
    struct Entry: Sendable {
        var spec: RoutingRuleSpec
        var ownerEmail: String?
        var path: String
        var line: Int?
    }

    static func read(_ r: inout ConfigReader, _ node: ConfigNode) -> ConfigSection.Write? {
        let before = r.problems.count
        var entries: [Entry] = []
        var sticky = 0
        for (i, n) in r.sequence(node).enumerated() {
            guard let entry = readRule(n, index: i, &r) else { continue }
            if entry.spec.kind == .stickyOwner {
                sticky += 1
                if sticky > 1 { r.problem(n, "only one sticky_owner rule (it places stickiness in the order)") }
            }
            entries.append(entry)
        }
        guard r.problems.count == before else { return nil }
        let file = r.file
        let rules = entries
        return { conn, logger in try await write(rules, file: file, on: conn, logger: logger) }
    }

    static func readRule(_ n: ConfigNode, index: Int, _ r: inout ConfigReader) -> Entry? {
        guard let m = r.mapping(n, allowed: fields, required: ["name", "kind"]) else { return nil }
        let before = r.problems.count
        let name = r.string(m["name"])
        if let name { r.unique("routing rule name", name, at: m["name"]) }
        let kind = r.oneOf(m["kind"], RoutingRuleKind.allCases.map(\.rawValue)).flatMap {
            RoutingRuleKind(rawValue: $0)
        }
        var values: [String] = []
        if let v = m["values"] {
            for item in r.sequence(v) {
                if let value = r.string(item) { values.append(value) }
            }
        }
        let policy = r.oneOf(m["contact_owner"], ContactOwnerPolicy.allCases.map(\.rawValue)).flatMap {
            ContactOwnerPolicy(rawValue: $0)
        }
        var ownerEmail: String?
        var target: RoutingTarget?
        if let a = m["assign"], let assign = r.mapping(a, allowed: ["owner", "round_robin", "queue"]) {
            if assign.count != 1 {
                r.problem(a, "exactly one of owner (a user's email), round_robin (a department), queue")
            } else if let email = assign["owner"].flatMap({ r.string($0) }) {
                ownerEmail = email.lowercased()
                target = .owner(UUID())  // resolved by email when the file is applied
            } else if let department = assign["round_robin"].flatMap({ r.string($0) }) {
                target = .roundRobin(department)
            } else if let queue = assign["queue"].flatMap({ r.string($0) }) {
                target = .queue(queue)
            }
        }
        let spec = RoutingRuleSpec(
            name: name ?? "", position: r.int(m["position"], range: RoutingRuleSpec.positions) ?? (index + 1) * 10,
            active: r.bool(m["active"]) ?? true, kind: kind ?? .fallback, values: values, target: target,
            contactOwner: policy ?? .ifUnassigned,
            openLead: r.bool(m["open_lead"]) ?? true)
        // Combination problems only once every field read well (else they repeat what was said).
        guard r.problems.count == before, name != nil, kind != nil else { return nil }
        for problem in spec.problems {
            if let field = m[problem.field] {
                r.problem(field, problem.message)
            } else {
                r.problem(path: n.child(problem.field), line: n.line, problem.message)
            }
        }
        return r.problems.count == before
            ? Entry(spec: spec, ownerEmail: ownerEmail, path: n.path, line: n.line) : nil
    }

    /// Runs in the load transaction: resolves owners, then upserts every rule. Any problem
    /// (an unknown owner, a second sticky_owner rule beside the database's) fails the load.
    static func write(_ entries: [Entry], file: String, on conn: PostgresConnection, logger: Logger) async throws {
        var problems: [ConfigProblem] = []
        var specs: [(Entry, RoutingRuleSpec)] = []
        for entry in entries {
            var spec = entry.spec
            if let email = entry.ownerEmail {
                guard let id = try await UserStore.activeId(email: email, on: conn, logger: logger) else {
                    problems.append(
                        ConfigProblem(
                            file: file, path: entry.path + ".assign.owner", line: entry.line,
                            message: "no active user with email \(email)"))
                    continue
                }
                spec.target = .owner(id)
            }
            specs.append((entry, spec))
        }
        guard problems.isEmpty else { throw ConfigFileError(problems: problems) }
        for (entry, spec) in specs {
            do {
                try await RoutingRuleStore.upsert(spec, createdBy: "config", on: conn, logger: logger)
            } catch let conflict as RoutingRuleStore.Conflict {
                throw ConfigFileError(problems: [
                    ConfigProblem(file: file, path: entry.path, line: entry.line, message: conflict.message)
                ])
            }
        }
    }
}

extension ConfigReader {
    /// A YAML boolean (true/false).
    mutating func bool(_ n: ConfigNode?) -> Bool? {
        guard let n else { return nil }
        guard let b = n.node.bool else {
            problem(n, "true or false")
            return nil
        }
        return b
    }
}
