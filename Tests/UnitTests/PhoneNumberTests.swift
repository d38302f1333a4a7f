import Testing
import WireModels

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
}
