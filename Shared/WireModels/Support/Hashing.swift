import Crypto
import Foundation

public enum Hashing {
    /// `0-9a-f` (lowercase, as W3C trace ids and our digests are written).
    public static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }

    /// Lowercase hex SHA-256, used as the raw webhook's idempotency key and for API token storage.
    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String {
        SHA256.hash(data: data).hexString
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex, the form Meta uses in X-Hub-Signature-256.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
