import Foundation
import Storage
import Testing

/// Stored secrets: bound to where they are stored, opened by the key that sealed them, rotated.
struct SecretBoxTests {
    @Test func aSealedValueOpensOnlyWhereItWasStoredAndUnderAKnownKey() throws {
        let old = SecretBox.generateKey()
        let new = SecretBox.generateKey()
        let box = try SecretBox(base64Key: old)
        let sealed = try box.seal("EAAG-token", context: "wa_accounts/a/access_token")
        #expect(try box.open(sealed, context: "wa_accounts/a/access_token") == "EAAG-token")
        // Moved to another row or column: refused.
        #expect(throws: SecretBoxError.wrongKeyOrCorrupt) {
            try box.open(sealed, context: "wa_accounts/b/access_token")
        }
        #expect(throws: SecretBoxError.wrongKeyOrCorrupt) { try box.open(sealed, context: "wa_accounts/a/app_secret") }
        // A new key alone cannot open it; with the old key as previous it can, and wants rotation.
        #expect(throws: SecretBoxError.unknownKey) {
            try SecretBox(base64Key: new).open(sealed, context: "wa_accounts/a/access_token")
        }
        let rotating = try SecretBox(base64Key: new, previous: [old])
        #expect(try rotating.open(sealed, context: "wa_accounts/a/access_token") == "EAAG-token")
        #expect(rotating.needsRotation(sealed))
        let resealed = try rotating.seal("EAAG-token", context: "wa_accounts/a/access_token")
        #expect(!rotating.needsRotation(resealed))
        #expect(rotating.keyId != box.keyId && rotating.keyId.count == 16)
        #expect(throws: SecretBoxError.invalidKey) { try SecretBox(base64Key: new, previous: ["short"]) }
    }
}
