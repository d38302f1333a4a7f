import Crypto
import Foundation

/// Encrypts account secrets (access tokens, app secrets, verify tokens) for storage with
/// AES-256-GCM; the key comes from `CRM_SECRET_KEY` (32 bytes, base64). The sealed form is
/// nonce + ciphertext + tag, so each value carries what decryption needs.
public struct SecretBox: Sendable {
    /// The raw key bytes (`SymmetricKey` is not Sendable; one is made per operation).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Parses `CRM_SECRET_KEY`. The error never echoes the value.
    public init(base64Key: String) throws {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespaces)), data.count == 32 else {
            throw SecretBoxError.invalidKey
        }
        keyBytes = Array(data)
    }

    public func seal(_ secret: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.sealFailed }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8]) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw SecretBoxError.wrongKeyOrCorrupt
        }
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

    public var description: String {
        switch self {
        case .invalidKey: "CRM_SECRET_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)"
        case .missingKey: "CRM_SECRET_KEY is not set: account secrets cannot be stored encrypted without it"
        case .sealFailed: "could not encrypt a secret"
        case .wrongKeyOrCorrupt: "a stored secret could not be decrypted (was CRM_SECRET_KEY changed?)"
        }
    }
}
