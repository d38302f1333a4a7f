import Crypto
import Foundation

/// Checks `X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256(app secret, body).
///
/// The raw bytes are verified first. Meta documents that the signature covers an escaped-unicode
/// form of the payload (`ä` → `\u00e4`), so when the raw check fails and the body holds
/// non-ASCII bytes, that form is tried too. Every configured app secret is tried; the
/// comparison is constant-time.
public struct SignatureVerifier: Sendable {
    let secrets: [[UInt8]]

    public init(appSecrets: [String]) {
        secrets = appSecrets.map { Array($0.utf8) }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeader
        case malformedHeader
        case mismatch

        public var description: String {
            switch self {
            case .missingHeader: "missing X-Hub-Signature-256 header"
            case .malformedHeader: "X-Hub-Signature-256 must be sha256=<64 hex digits>"
            case .mismatch: "signature does not match the body"
            }
        }
    }

    public func verify(body: [UInt8], header: String?) throws(Failure) {
        guard let header else { throw .missingHeader }
        guard let expected = Self.parse(header) else { throw .malformedHeader }
        if matches(body, expected) { return }
        if body.contains(where: { $0 >= 0x80 }), let escaped = Self.escapeUnicode(body), matches(escaped, expected) {
            return
        }
        throw .mismatch
    }

    func matches(_ data: [UInt8], _ expected: [UInt8]) -> Bool {
        // Evaluate every key so timing does not reveal which secret matched.
        var found = false
        for secret in secrets
        where HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: data, using: SymmetricKey(data: secret))
        {
            found = true
        }
        return found
    }

    /// `sha256=<64 hex>` with optional surrounding spaces or tabs, read from the UTF-8 bytes
    /// (this runs on every webhook; Foundation's trimming was a measurable share of its CPU).
    static func parse(_ header: String) -> [UInt8]? {
        let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 }
        var utf8 = Substring(header).utf8
        while let first = utf8.first, isBlank(first) { utf8 = utf8.dropFirst() }
        while let last = utf8.last, isBlank(last) { utf8 = utf8.dropLast() }
        guard utf8.count == 7 + 64, utf8.starts(with: "sha256=".utf8) else { return nil }
        return [UInt8](hex: String(Substring(utf8.dropFirst(7))))
    }

    /// Every non-ASCII scalar as `\uXXXX` (lowercase hex, UTF-16 surrogate pairs above the BMP).
    public static func escapeUnicode(_ body: [UInt8]) -> [UInt8]? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(body.count + 64)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                out.append(UInt8(scalar.value))
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8))
                }
            }
        }
        return out
    }
}
