import Foundation

/// `Encodable` values written as JSON bytes without `JSONEncoder`: every record a stage
/// produces is an envelope, and Foundation's encoder (its generic boxing, sorting keys by
/// Unicode rules) was the largest part of the normalizer's own CPU. Same output rules as
/// `JSONCoding.encoder()`: keys sorted, slashes not escaped, dates RFC 3339 UTC, nil optionals
/// left out; a `JSONValue` is written as it is. Integers are written exactly.
public enum JSONBytesEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try NodeEncoder.node(for: value, path: [])
        var out: [UInt8] = []
        out.reserveCapacity(512)
        try node.write(to: &out)
        return out
    }
}

/// What an encoded value became; containers are filled in place.
private final class Node {
    enum Scalar {
        case null
        case bool(Bool)
        case int(Int64)
        case uint(UInt64)
        case double(Double)
        case string(String)
        case json(JSONValue)
    }

    var scalar: Scalar?
    var object: [String: Node]?
    var array: [Node]?

    init() {}
    init(_ scalar: Scalar) { self.scalar = scalar }

    func write(to out: inout [UInt8]) throws {
        if let object {
            out.append(UInt8(ascii: "{"))
            for (i, key) in JSONValue.sortedKeys(object).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(key.utf8, to: &out)
                out.append(UInt8(ascii: ":"))
                try object[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        } else if let array {
            out.append(UInt8(ascii: "["))
            for (i, item) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        } else {
            switch scalar ?? .null {
            case .null: out += "null".utf8
            case .bool(let b): out += (b ? "true" : "false").utf8
            case .int(let n): out += String(n).utf8
            case .uint(let n): out += String(n).utf8
            case .double(let d):
                guard d.isFinite else {
                    throw EncodingError.invalidValue(d, .init(codingPath: [], debugDescription: "\(d) is not JSON"))
                }
                JSONValue.append(number: d, to: &out)
            case .string(let s): JSONString.append(s.utf8, to: &out)
            case .json(let v): v.write(to: &out)
            }
        }
    }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func node<T: Encodable>(for value: T, path: [any CodingKey]) throws -> Node {
        if let json = value as? JSONValue { return Node(.json(json)) }
        if let date = value as? Date { return Node(.string(RFC3339.string(from: date))) }
        let node = Node()
        try value.encode(to: NodeEncoder(node: node, codingPath: path))
        return node
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.object == nil { node.object = [:] }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.array == nil { node.array = [] }
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    func put(_ scalar: Node.Scalar, _ key: Key) { node.object![key.stringValue] = Node(scalar) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.double(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.uint(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.object![key.stringValue] = try NodeEncoder.node(for: value, path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = Node()
        child.object = [:]
        node.object![key.stringValue] = child
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        child.array = []
        node.object![key.stringValue] = child
        return UnkeyedNodeContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    func superEncoder(named name: String) -> any Encoder {
        let child = Node()
        node.object![name] = child
        return NodeEncoder(node: child, codingPath: codingPath)
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.array!.count }

    func put(_ scalar: Node.Scalar) { node.array!.append(Node(scalar)) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.double(value)) }
    mutating func encode(_ value: Float) throws { put(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { put(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { put(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { put(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { put(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { put(.int(value)) }
    mutating func encode(_ value: UInt) throws { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { put(.uint(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        node.array!.append(try NodeEncoder.node(for: value, path: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = Node()
        child.object = [:]
        node.array!.append(child)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        child.array = []
        node.array!.append(child)
        return UnkeyedNodeContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        node.array!.append(child)
        return NodeEncoder(node: child, codingPath: codingPath)
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = .null }
    mutating func encode(_ value: Bool) throws { node.scalar = .bool(value) }
    mutating func encode(_ value: String) throws { node.scalar = .string(value) }
    mutating func encode(_ value: Double) throws { node.scalar = .double(value) }
    mutating func encode(_ value: Float) throws { node.scalar = .double(Double(value)) }
    mutating func encode(_ value: Int) throws { node.scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int8) throws { node.scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int16) throws { node.scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int32) throws { node.scalar = .int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { node.scalar = .int(value) }
    mutating func encode(_ value: UInt) throws { node.scalar = .uint(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { node.scalar = .uint(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { node.scalar = .uint(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { node.scalar = .uint(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { node.scalar = .uint(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = try NodeEncoder.node(for: value, path: codingPath)
        node.scalar = child.scalar
        node.object = child.object
        node.array = child.array
    }
}
