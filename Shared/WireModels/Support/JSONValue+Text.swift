/// JSON text of a `JSONValue` without `JSONEncoder`: the matcher stores every message's
/// content, and the generic encoder was a tenth of its CPU time. Keys are sorted and slashes
/// left unescaped, as `JSONCoding.encoder()` writes them; strings go through `JSONString`.
extension JSONValue {
    public var jsonText: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let n): JSONValue.append(number: n, to: &out)
        case .string(let s): JSONString.append(s.utf8, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in JSONValue.sortedKeys(members).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(key.utf8, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A number as JSON text: whole numbers without a fraction (Meta's ids and timestamps are
    /// often numbers), others as Swift prints them. The caller keeps NaN and infinities out.
    static func append(number n: Double, to out: inout [UInt8]) {
        out += (n.rounded() == n && abs(n) < 9_007_199_254_740_992 ? String(Int64(n)) : "\(n)").utf8
    }

    /// Object keys in the order they are written: by their UTF-8 bytes (for the ASCII keys of
    /// the wire models that is alphabetical, without String's Unicode comparison).
    static func sortedKeys<Value>(_ members: [String: Value]) -> [String] {
        members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
