import Foundation
import Hummingbird
import Storage
import WireModels

/// A request body read as a JSON object and checked field by field: unknown fields and every
/// bad value are collected in `problems` (400 `validation_failed` lists them all at once),
/// and PATCH bodies can tell an absent field (keep) from `null` (clear).
struct JSONBody {
    private let fields: [String: JSONValue]
    var problems = Problems()

    /// Reads the body (at most `maxBytes`); 400 `invalid_json` when it is not a JSON object.
    init(_ request: Request, allowed: Set<String>, maxBytes: Int = 64 * 1024) async throws {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "request body is over \(maxBytes) bytes")
        }
        try Self.refuseNUL(buffer)
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: buffer)
        } catch {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object")
        }
        guard case .object(let object) = value else {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object")
        }
        fields = object
        for key in object.keys.sorted() where !allowed.contains(key) {
            problems.add(prefix + key, "unknown field")
        }
    }

    /// Every JSON body the API reads: at most `maxBytes`, and no `\u0000` in it.
    static func collect(_ request: Request, upTo maxBytes: Int) async throws -> ByteBuffer {
        let buffer = try await request.body.collect(upTo: maxBytes)
        try refuseNUL(buffer)
        return buffer
    }

    /// 400 for a string with the NUL character (the escape `\u0000`; `\\u0000` is a backslash and
    /// text): PostgreSQL stores no NUL in text or jsonb, and would answer a 500.
    static func refuseNUL(_ buffer: ByteBuffer) throws {
        let bytes = buffer.readableBytesView
        let escape = Array(#"u0000"#.utf8)
        var backslashes = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                backslashes += 1
            } else {
                if backslashes % 2 == 1, byte == UInt8(ascii: "u"), bytes.endIndex - index >= escape.count,
                    bytes[index..<(index + escape.count)].elementsEqual(escape)
                {
                    throw APIError(
                        .badRequest, "invalid_json", "text must not contain the NUL character (\\u0000)")
                }
                backslashes = 0
            }
            index += 1
        }
    }

    /// A nested object of a body, checked the same way; `prefix` names its fields in problems
    /// (`audience.filters.` → `audience.filters.tags`). Merge its problems back with `absorb`.
    init(_ object: [String: JSONValue], allowed: Set<String>, prefix: String) {
        fields = object
        self.prefix = prefix
        for key in object.keys.sorted() where !allowed.contains(key) {
            problems.add(prefix + key, "unknown field")
        }
    }

    /// Prefix of nested field names in problems ("" at the top level).
    private var prefix = ""

    func has(_ key: String) -> Bool { fields[key] != nil }

    /// An object field (nil, with a problem when required, if absent or not an object).
    mutating func object(_ key: String, required: Bool = false) -> [String: JSONValue]? {
        switch fields[key] {
        case nil, .null?:
            if required { problems.add(prefix + key, "required") }
            return nil
        case .object(let o)?: return o
        default:
            problems.add(prefix + key, "must be an object")
            return nil
        }
    }

    /// Takes over a nested body's problems.
    mutating func absorb(_ nested: JSONBody) {
        for p in nested.problems.items { problems.add(p.field, p.message) }
    }

    /// A field as sent, for structured values a caller validates itself (workflow and routing rules).
    func raw(_ key: String) -> JSONValue? { fields[key] }

    /// A string field; `required` adds a problem when absent or null. Empty strings are refused.
    mutating func string(_ key: String, required: Bool = false, maxLength: Int = 200) -> String? {
        switch fields[key] {
        case nil, .null?:
            if required { problems.add(prefix + key, "required") }
            return nil
        case .string(let s)?:
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                problems.add(prefix + key, "must not be empty")
                return nil
            }
            if s.count > maxLength {
                problems.add(prefix + key, "at most \(maxLength) characters")
                return nil
            }
            return trimmed
        default:
            problems.add(prefix + key, "must be a string")
            return nil
        }
    }

    /// A string that is one of `values`.
    mutating func oneOf(_ key: String, _ values: [String], required: Bool = false) -> String? {
        guard let s = string(key, required: required) else { return nil }
        guard values.contains(s) else {
            problems.add(prefix + key, "one of \(values.joined(separator: ", "))")
            return nil
        }
        return s
    }

    /// A non-empty array of strings, each accepted by `valid`.
    mutating func strings(_ key: String, required: Bool = false, valid: (String) -> Bool, expected: String)
        -> [String]?
    {
        switch fields[key] {
        case nil, .null?:
            if required { problems.add(prefix + key, "required") }
            return nil
        case .array(let items)? where !items.isEmpty:
            let values = items.compactMap(\.stringValue)
            if values.count == items.count && values.allSatisfy(valid) { return values }
        default:
            break
        }
        problems.add(prefix + key, expected)
        return nil
    }

    mutating func bool(_ key: String, required: Bool = false) -> Bool? {
        switch fields[key] {
        case nil, .null?:
            if required { problems.add(prefix + key, "required") }
            return nil
        case .bool(let b)?: return b
        default:
            problems.add(prefix + key, "must be true or false")
            return nil
        }
    }

    mutating func int(_ key: String, range: ClosedRange<Int>, required: Bool = false) -> Int? {
        switch fields[key] {
        case nil, .null?:
            if required { problems.add(prefix + key, "required") }
            return nil
        case .number(let n)? where n.rounded() == n && Double(range.lowerBound) <= n && n <= Double(range.upperBound):
            return Int(n)
        default:
            problems.add(prefix + key, "a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
    }

    mutating func uuid(_ key: String, required: Bool = false) -> UUID? {
        guard let s = string(key, required: required) else { return nil }
        guard let id = UUID(uuidString: s) else {
            problems.add(prefix + key, "an id (UUID)")
            return nil
        }
        return id
    }

    mutating func date(_ key: String, required: Bool = false) -> Date? {
        guard let s = string(key, required: required) else { return nil }
        guard let d = RFC3339.date(from: s) else {
            problems.add(prefix + key, "an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z")
            return nil
        }
        return d
    }

    /// PATCH form: `.keep` when absent, `.set(nil)` for null (only if `nullable`), else the
    /// value read by `read` (a bad value is a problem and keeps).
    mutating func change<V>(_ key: String, nullable: Bool, _ read: (inout JSONBody) -> V?) -> Change<V> {
        switch fields[key] {
        case nil: return .keep
        case .null?:
            if nullable { return .set(nil) }
            problems.add(prefix + key, "must not be null")
            return .keep
        default:
            guard let v = read(&self) else { return .keep }
            return .set(v)
        }
    }
}
