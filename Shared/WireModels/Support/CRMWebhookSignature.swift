import Crypto
import Foundation

/// How our outbound webhooks are signed, for us and for receivers: `X-CRM-Signature-256:
/// sha256=<hex HMAC-SHA256 of the raw body with the endpoint's secret>` (the same scheme Meta
/// uses for its own webhooks, so receivers can reuse their verification code).
public enum CRMWebhookSignature {
    public static let header = "X-CRM-Signature-256"

    public static func sign(_ body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + Array(mac).hexString
    }

    /// Constant-time check of a received header against the body.
    public static func isValid(_ header: String, body: [UInt8], secret: String) -> Bool {
        guard header.hasPrefix("sha256="), let mac = Array(hex: String(header.dropFirst(7))) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: body, using: SymmetricKey(data: Array(secret.utf8)))
    }
}

extension Array where Element == UInt8 {
    /// Bytes from lowercase or uppercase hex; nil if the text is not hex.
    public init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}
