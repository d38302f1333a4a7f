import Crypto
import Foundation
import GatewayService
import Testing
import WireModels

@Suite struct SignatureVerifierTests {
    let secret = "app-secret"

    func sign(_ body: [UInt8], _ key: String) -> String {
        "sha256="
            + Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(key.utf8)))).hexString
    }

    @Test func acceptsRawBytesSignature() throws {
        let body = Array(#"{"object":"whatsapp_business_account","entry":[]}"#.utf8)
        try SignatureVerifier(appSecrets: [secret]).verify(body: body, header: sign(body, secret))
    }

    @Test func triesEverySecret() throws {
        let body = Array("{}".utf8)
        try SignatureVerifier(appSecrets: ["other", secret]).verify(body: body, header: sign(body, secret))
    }

    @Test func rejectsWrongSecretMissingAndMalformedHeaders() {
        let body = Array("{}".utf8)
        let v = SignatureVerifier(appSecrets: [secret])
        #expect(throws: SignatureVerifier.Failure.mismatch) { try v.verify(body: body, header: sign(body, "nope")) }
        #expect(throws: SignatureVerifier.Failure.missingHeader) { try v.verify(body: body, header: nil) }
        #expect(throws: SignatureVerifier.Failure.malformedHeader) { try v.verify(body: body, header: "sha1=abc") }
        #expect(throws: SignatureVerifier.Failure.malformedHeader) { try v.verify(body: body, header: "sha256=zz") }
    }

    @Test func acceptsSignatureOverEscapedUnicodeForm() throws {
        let body = Array(#"{"text":"Olá, ação ✓ 😀"}"#.utf8)
        let escaped = try #require(SignatureVerifier.escapeUnicode(body))
        #expect(String(decoding: escaped, as: UTF8.self) == #"{"text":"Ol\u00e1, a\u00e7\u00e3o \u2713 \ud83d\ude00"}"#)
        try SignatureVerifier(appSecrets: [secret]).verify(body: body, header: sign(escaped, secret))
    }

    @Test func aBodyChangedAfterSigningIsRejected() {
        let body = Array(#"{"a":1}"#.utf8)
        let header = sign(body, secret)
        #expect(throws: SignatureVerifier.Failure.mismatch) {
            try SignatureVerifier(appSecrets: [secret]).verify(body: Array(#"{"a":2}"#.utf8), header: header)
        }
    }
}
