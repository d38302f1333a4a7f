import Foundation
import ServiceKit
import Yams

/// A YAML node with its path in the document, and typed readers that record a problem (with
/// path and line) instead of failing, so one pass reports everything wrong with a file.
struct ConfigNode {
    let node: Node
    let path: String

    var line: Int? { node.mark?.line }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// Collects problems while a file is read; resolves `${VAR}` references from the environment.
struct ConfigReader {
    let file: String
    let environment: [String: String]
    var problems: [ConfigProblem] = []
    /// Natural keys seen so far, by kind: each must be unique in a file (else which entry
    /// wins would depend on order).
    private var seen: [String: Set<String>] = [:]

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    mutating func unique(_ kind: String, _ value: String, at n: ConfigNode?) {
        guard let n else { return }
        if !seen[kind, default: []].insert(value).inserted { problem(n, "duplicate \(kind) \(value)") }
    }

    mutating func problem(_ node: ConfigNode, _ message: String) {
        problems.append(ConfigProblem(file: file, path: node.path, line: node.line, message: message))
    }

    mutating func problem(path: String, line: Int?, _ message: String) {
        problems.append(ConfigProblem(file: file, path: path, line: line, message: message))
    }

    /// A mapping's entries by key; keys not in `allowed` are problems, `required` ones must be there.
    mutating func mapping(_ n: ConfigNode, allowed: Set<String>, required: Set<String> = []) -> [String: ConfigNode]? {
        guard let mapping = n.node.mapping else {
            problem(n, "must be a mapping (key: value)")
            return nil
        }
        var out: [String: ConfigNode] = [:]
        for (k, v) in mapping {
            guard let key = k.string else {
                problem(n, "keys must be strings")
                continue
            }
            let child = ConfigNode(node: v, path: n.child(key))
            if !allowed.contains(key) {
                problem(
                    path: child.path, line: k.mark?.line,
                    "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            out[key] = child
        }
        for key in required.sorted() where out[key] == nil {
            problem(path: n.child(key), line: n.line, "required")
        }
        return out
    }

    mutating func sequence(_ n: ConfigNode) -> [ConfigNode] {
        guard let seq = n.node.sequence else {
            problem(n, "must be a list")
            return []
        }
        return seq.enumerated().map { ConfigNode(node: $1, path: "\(n.path)[\($0)]") }
    }

    /// A plain string (YAML null or an empty value is a problem).
    mutating func string(_ n: ConfigNode?) -> String? {
        guard let n else { return nil }
        guard let scalar = n.node.scalar, n.node.null == nil else {
            problem(n, "must be a text value")
            return nil
        }
        let s = scalar.string.trimmingCharacters(in: .whitespaces)
        if s.isEmpty {
            problem(n, "must not be empty")
            return nil
        }
        return s
    }

    /// A secret: `${VAR}` takes the value of environment variable VAR (so the file can be
    /// committed); messages name the variable, never a value.
    mutating func secret(_ n: ConfigNode?) -> String? {
        guard let n, let raw = string(n) else { return nil }
        guard raw.hasPrefix("${"), raw.hasSuffix("}") else { return raw }
        let name = String(raw.dropFirst(2).dropLast())
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            problem(n, "a reference must look like ${ENV_VAR}")
            return nil
        }
        guard let value = environment[name], !value.isEmpty else {
            problem(n, "environment variable \(name) is not set")
            return nil
        }
        return value
    }

    mutating func int(_ n: ConfigNode?, range: ClosedRange<Int>) -> Int? {
        guard let n else { return nil }
        guard let v = n.node.int, range.contains(v) else {
            problem(n, "a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return v
    }

    mutating func oneOf(_ n: ConfigNode?, _ values: [String]) -> String? {
        guard let n, let s = string(n) else { return nil }
        guard values.contains(s) else {
            problem(n, "one of \(values.joined(separator: ", "))")
            return nil
        }
        return s
    }
}
