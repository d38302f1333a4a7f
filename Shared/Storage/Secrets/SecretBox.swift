import Crypto
import Foundation

/// Encrypts secrets for storage (account tokens and app secrets) with AES-256-GCM under
/// `CRM_SECRET_KEY` (32 bytes, base64). Each sealed value names the key that sealed it (a key
/// id: the first 8 bytes of the key's SHA-256) and is bound to where it is stored (`context`,
/// e.g. the table, row id and column, as associated data): a value copied into another row or
/// column does not open. Older keys (`CRM_SECRET_KEY_PREVIOUS`) still open what they sealed, so
/// a key is rotated by deploying the new key with the old one as previous and re-sealing
/// (`crmctl secrets rotate`).
///
/// Sealed form: `CRM2` + key id (8 bytes) + nonce + ciphertext + tag. Values sealed before key
/// ids (nonce + ciphertext + tag, no associated data) still open, and count as needing rotation.
public struct SecretBox: Sendable {
    struct Key: Sendable {
        var id: [UInt8]
        var bytes: [UInt8]
        /// `SymmetricKey` is not Sendable; one is made per operation.
        var symmetric: SymmetricKey { SymmetricKey(data: bytes) }

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            id = Array(SHA256.hash(data: bytes).prefix(8))
        }
    }

    static let magic: [UInt8] = Array("CRM2".utf8)

    /// The current key first, then the previous ones.
    let keys: [Key]

    /// Parses `CRM_SECRET_KEY` and `CRM_SECRET_KEY_PREVIOUS`. The error never echoes a value.
    public init(base64Key: String, previous: [String] = []) throws {
        keys = try ([base64Key] + previous).map { text in
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)), data.count == 32 else {
                throw SecretBoxError.invalidKey
            }
            return Key(Array(data))
        }
    }

    /// The current key's id, hex (for logs and `crmctl`: which key sealed what).
    public var keyId: String { keys[0].id.map { String(format: "%02x", $0) }.joined() }

    public func seal(_ secret: String, context: String) throws -> [UInt8] {
        let key = keys[0]
        let box = try AES.GCM.seal(Array(secret.utf8), using: key.symmetric, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw SecretBoxError.sealFailed }
        return Self.magic + key.id + Array(combined)
    }

    public func open(_ sealed: [UInt8], context: String) throws -> String {
        do {
            if sealed.starts(with: Self.magic), sealed.count > 12 {
                let id = Array(sealed[4..<12])
                guard let key = keys.first(where: { $0.id == id }) else { throw SecretBoxError.unknownKey }
                let box = try AES.GCM.SealedBox(combined: sealed[12...])
                return String(
                    decoding: try AES.GCM.open(box, using: key.symmetric, authenticating: Array(context.utf8)),
                    as: UTF8.self)
            }
            let box = try AES.GCM.SealedBox(combined: sealed)
            for key in keys {
                if let clear = try? AES.GCM.open(box, using: key.symmetric) {
                    return String(decoding: clear, as: UTF8.self)
                }
            }
            throw SecretBoxError.wrongKeyOrCorrupt
        } catch let error as SecretBoxError {
            throw error
        } catch {
            throw SecretBoxError.wrongKeyOrCorrupt
        }
    }

    /// Whether `sealed` is in the old form or under a key other than the current one.
    public func needsRotation(_ sealed: [UInt8]) -> Bool {
        !(sealed.starts(with: Self.magic) && sealed.count > 12 && Array(sealed[4..<12]) == keys[0].id)
    }

    /// A fresh random key in the form `CRM_SECRET_KEY` takes (for docs and `crmctl`).
    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

public enum SecretBoxError: Error, CustomStringConvertible, Equatable {
    case invalidKey
    case missingKey
    case sealFailed
    case wrongKeyOrCorrupt
    case unknownKey

    public var description: String {
        switch self {
        case .invalidKey:
            "CRM_SECRET_KEY and each CRM_SECRET_KEY_PREVIOUS entry must be 32 bytes, base64-encoded "
                + "(e.g. `openssl rand -base64 32`)"
        case .missingKey: "CRM_SECRET_KEY is not set: account secrets cannot be stored encrypted without it"
        case .sealFailed: "could not encrypt a secret"
        case .wrongKeyOrCorrupt:
            "a stored secret could not be decrypted (another CRM_SECRET_KEY, or a value moved from another record)"
        case .unknownKey:
            "a stored secret was sealed with a key that is neither CRM_SECRET_KEY nor in CRM_SECRET_KEY_PREVIOUS"
        }
    }
}
