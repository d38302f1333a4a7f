import Testing
import WireModels

/// `PhoneNumber.digits`/`e164`: the lenient wire-level checks the gateway, normalizer and simulator use.
@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("0055 11 98765 4321", "+5511987654321"),
        ("+1-555-123-4567", "+15551234567"),
    ])
    func acceptsCommonFormats(input: String, expected: String) {
        #expect(PhoneNumber.e164(input) == expected)
    }

    @Test(arguments: ["", "+", "12345", "+1234567890123456", "abc5511987654321", "+55 11 9876x4321", "011987654321"])
    func rejectsNonNumbers(input: String) {
        #expect(PhoneNumber.e164(input) == nil)
    }

    /// International forms now go through the parser, which reads what the old rule could not.
    @Test(arguments: [
        ("011 44 20 7946 0958", "+442079460958"),  // NANP international prefix
        ("+44 (0)20 7946 0958", "+442079460958"),  // stray trunk prefix after the country code
        ("+54 11 15 1234 5678", "+5491112345678"),  // Argentina's national "15" mobile marker
        ("+971 ٥٠ ١٢٣ ٤٥٦٧", "+971501234567"),  // Arabic-Indic digits
    ])
    func internationalFormsUseTheParser(input: String, expected: String) {
        #expect(PhoneNumber.e164(input) == expected)
    }

    /// wa_ids are Meta's: bare digits are never rewritten, and numbers outside our tables still pass.
    @Test(arguments: ["1122334455667", "+1122334455667", "5215512345678", "551187654321", "4402079460958"])
    func keepsWhatTheLenientRuleAccepted(input: String) {
        let digits = input.hasPrefix("+") ? String(input.dropFirst()) : input
        #expect(PhoneNumber.digits(input) == digits)
    }
}
