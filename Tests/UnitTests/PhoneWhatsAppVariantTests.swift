import Testing
import WireModels

/// WhatsApp's variants of one person (community knowledge, see `WhatsAppVariants`), each way round.
@Suite struct PhoneWhatsAppVariantTests {
    private func parse(_ input: String, _ region: String? = nil) throws -> ParsedPhoneNumber {
        try PhoneNumber.parse(input, defaultCountry: region)
    }

    @Test func brazilLegacyMobileGainsTheNine() throws {
        let legacy = try parse("551187654321")
        #expect(legacy.e164 == "+551187654321")  // parsed as written
        #expect(legacy.whatsAppEquivalents == ["+5511987654321", "+551187654321"])
        #expect(legacy.whatsAppKey == "+5511987654321")
    }

    @Test func brazilModernMobileKnowsItsLegacyForm() throws {
        let modern = try parse("+55 11 98765-4321")
        #expect(modern.whatsAppEquivalents == ["+5511987654321", "+551187654321"])
        #expect(modern.whatsAppKey == "+5511987654321")
        #expect(try parse("(11) 8765-4321", "BR").whatsAppKey == modern.whatsAppKey)
    }

    @Test(arguments: ["+55 11 3456-7890", "+55 11 92345-6789", "+55 800 123 4567", "+55 10 8765 4321"])
    func brazilWithoutVariants(input: String) throws {
        // Landlines (2-5), 9 + a non-legacy digit, toll-free 0800, and no area code 10.
        let number = try parse(input)
        #expect(number.whatsAppEquivalents == [number.e164])
        #expect(number.whatsAppKey == number.e164)
    }

    @Test func mexicoLegacyOneIsDropped() throws {
        let legacy = try parse("5215512345678")
        #expect(legacy.e164 == "+5215512345678")
        #expect(legacy.whatsAppEquivalents == ["+525512345678", "+5215512345678"])
        #expect(legacy.whatsAppKey == "+525512345678")
    }

    @Test func mexicoModernKnowsItsLegacyForm() throws {
        let modern = try parse("+52 55 1234 5678")
        #expect(modern.whatsAppEquivalents == ["+525512345678", "+5215512345678"])
        #expect(modern.whatsAppKey == "+525512345678")
        #expect(try parse("044 55 1234 5678", "MX").whatsAppKey == modern.whatsAppKey)
    }

    @Test func argentinaMobileNineIsCanonical() throws {
        let inbound = try parse("5491112345678")
        #expect(inbound.whatsAppEquivalents == ["+5491112345678", "+541112345678"])
        #expect(inbound.whatsAppKey == "+5491112345678")
    }

    @Test func argentinaWithoutNineGainsIt() throws {
        let short = try parse("+54 11 1234-5678")
        #expect(short.e164 == "+541112345678")
        #expect(short.whatsAppEquivalents == ["+5491112345678", "+541112345678"])
        #expect(short.whatsAppKey == "+5491112345678")
        #expect(try parse("011 15 1234-5678", "AR").whatsAppKey == short.whatsAppKey)
    }

    @Test func argentinaTollFreeHasNoVariant() throws {
        let number = try parse("+54 800 123 4567")
        #expect(number.whatsAppEquivalents == ["+548001234567"])
    }

    @Test(arguments: ["+44 7911 123456", "+1 415 555 2671", "+91 98765 43210", "+972 50 123 4567"])
    func otherCountriesHaveOneForm(input: String) throws {
        let number = try parse(input)
        #expect(number.whatsAppEquivalents == [number.e164])
        #expect(number.whatsAppKey == number.e164)
    }

    @Test(arguments: [
        ["5511987654321", "551187654321", "+55 (11) 98765-4321", "0055 11 8765 4321"],
        ["525512345678", "5215512345678", "+52 1 55 1234 5678", "0052 55 1234 5678"],
        ["5491112345678", "541112345678", "+54 9 11 1234 5678", "+54 11 15 1234 5678"],
    ])
    func allFormsShareOneKey(forms: [String]) throws {
        let keys = try Set(forms.map { try parse($0).whatsAppKey })
        #expect(keys.count == 1)
    }
}
