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
        case .number(let n):
            // Whole numbers without a fraction (Meta's ids and timestamps are often numbers).
            let text = n.rounded() == n && abs(n) < 9_007_199_254_740_992 ? String(Int64(n)) : "\(n)"
            out += text.utf8
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
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(key.utf8, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
