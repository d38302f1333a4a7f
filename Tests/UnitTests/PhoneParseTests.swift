import Testing
import WireModels

/// `PhoneNumber.parse` on international input, regions and errors.
@Suite struct PhoneParseTests {
    @Test(arguments: [
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("0055 11 98765 4321", "+5511987654321"),
        ("011 55 11 98765 4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),  // wa_id: bare international digits
        ("(+34) 612.345.678", "+34612345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+1 555 078 3881", "+15550783881"),  // Meta test numbers use reserved 555-0XX exchanges
        ("+49 30 901820", "+4930901820"),
        ("+39 06 6982 0000", "+390669820000"),  // Italy keeps its leading 0
        ("+91 98765 43210", "+919876543210"),
        ("+972 50-123-4567", "+972501234567"),
        ("+225 07 07 12 34 56", "+2250707123456"),  // Côte d'Ivoire: NSN starts with 0
        ("+971 ٥٠ ١٢٣ ٤٥٦٧", "+971501234567"),
        ("\u{200E}+972\u{00A0}50\u{2011}123\u{2011}4567\u{200F}", "+972501234567"),
        ("+800 1234 5678", "+80012345678"),
        (" tel:+1-415-555-2671", "+14155552671"),
    ])
    func international(input: String, expected: String) throws {
        #expect(try PhoneNumber.parse(input).e164 == expected)
    }

    @Test func splitsCountryCodeAndNationalNumber() throws {
        let number = try PhoneNumber.parse("+55 11 98765-4321")
        #expect(number.countryCode == 55)
        #expect(number.nationalNumber == "11987654321")
        #expect(number.region == "BR")
        #expect(number.digits == "5511987654321")
        #expect(number.e164 == "+5511987654321")
    }

    @Test(arguments: [
        ("+1 212 555 2671", "US"), ("+1 416 555 2671", "CA"), ("+1 876 555 2671", "JM"),
        ("+1 787 555 2671", "PR"), ("+1 809 555 2671", "DO"), ("+1 800 555 2671", "US"),
        ("+7 701 234 5678", "KZ"), ("+7 912 345 6789", "RU"), ("+44 7911 123456", "GB"),
        ("+262 692 12 34 56", "RE"), ("+52 55 1234 5678", "MX"),
    ])
    func determinesRegion(input: String, region: String) throws {
        #expect(try PhoneNumber.parse(input).region == region)
    }

    @Test func sharedCodesFollowTheDefaultCountry() throws {
        #expect(try PhoneNumber.parse("+44 7797 123456", defaultCountry: "JE").region == "JE")
        #expect(try PhoneNumber.parse("+44 7797 123456", defaultCountry: "BR").region == "GB")
        #expect(try PhoneNumber.parse("+800 1234 5678").region == nil)
    }

    @Test(arguments: [
        ("0011 44 20 7946 0958", "AU"), ("010 44 20 7946 0958", "JP"), ("011 44 20 7946 0958", "US"),
        ("011 44 20 7946 0958", "CA"), ("00 44 20 7946 0958", "DE"), ("00 44 20 7946 0958", "BR"),
    ])
    func internationalPrefixOfTheDefaultCountry(input: String, region: String) throws {
        #expect(try PhoneNumber.parse(input, defaultCountry: region).e164 == "+442079460958")
    }

    @Test func brazilInternationalPrefixWithCarrier() throws {
        // 00 + carrier 21 + country code 1.
        #expect(try PhoneNumber.parse("00 21 1 212 555 1234", defaultCountry: "BR").e164 == "+12125551234")
    }

    @Test(arguments: ["", "   ", "+", "()-", "+ ( )"])
    func empty(input: String) {
        #expect(throws: PhoneNumberError.empty) { try PhoneNumber.parse(input) }
    }

    @Test(arguments: [
        ("abc", "abc"), ("+55 11 9876x4321", "x"), ("5511+98765", "+"), ("call 555-1234", "cal"),
        ("+1 800 FLOWERS", "FLOWERS"), ("++55 11 98765 4321", "+"),
    ])
    func invalidCharacters(input: String, chars: String) {
        #expect(throws: PhoneNumberError.invalidCharacters(chars)) { try PhoneNumber.parse(input) }
    }

    @Test func carrierPlaceholderIsBrazilOnly() {
        #expect(throws: PhoneNumberError.invalidCharacters("x")) {
            try PhoneNumber.parse("0xx11 98765-4321", defaultCountry: "AR")
        }
    }

    @Test(arguments: ["+999 1234 5678", "+0 55 11 98765 4321", "+28 1234 5678", "0099 1234 5678"])
    func unknownCountryCode(input: String) {
        #expect(throws: PhoneNumberError.unknownCountryCode) { try PhoneNumber.parse(input) }
    }

    @Test(arguments: ["+5", "+55", "+55 11 9876", "+1 415 555", "12345", "+44 20 79", "+972 50 123"])
    func tooShort(input: String) {
        #expect(throws: PhoneNumberError.tooShort) { try PhoneNumber.parse(input) }
    }

    @Test(arguments: [
        "+55 11 98765 43210", "+1 415 555 26710", "+1234567890123456", "+52 55 1234 5678 9", "+54 11 1234 5678 9",
        "+33 6 12 34 56 789", "+882 1234 5678 9012 3",
    ])
    func tooLong(input: String) {
        #expect(throws: PhoneNumberError.tooLong) { try PhoneNumber.parse(input) }
    }

    @Test(arguments: [
        "+1 123 456 7890",  // NANP area codes never start with 1
        "(11) 98765-4321",  // a Brazilian national number is not +1 198…
        "+55 11 8765 43210",  // 11 Brazilian digits without the mobile 9
        "+52 1 05 1234 5678",  // Mexican numbers never start with 0
        "+33 0 12 34 56 78",  // a leading 0 where 0 is the trunk prefix
    ])
    func invalidNationalNumber(input: String) {
        #expect(throws: PhoneNumberError.invalidNationalNumber) { try PhoneNumber.parse(input) }
    }

    @Test(arguments: ["020 7946 0958", "011 98765 4321", "(011) 98765-4321", "0 6 12 34 56 78"])
    func nationalNumberNeedsACountry(input: String) {
        #expect(throws: PhoneNumberError.missingCountry) { try PhoneNumber.parse(input) }
    }

    @Test func unknownDefaultCountry() {
        #expect(throws: PhoneNumberError.unknownRegion("XX")) {
            try PhoneNumber.parse("020 7946 0958", defaultCountry: "XX")
        }
        #expect(throws: PhoneNumberError.unknownRegion("Brazil")) {
            try PhoneNumber.parse("11 98765 4321", defaultCountry: "Brazil")
        }
    }

    @Test func defaultCountryIsCaseInsensitive() throws {
        #expect(try PhoneNumber.parse("(11) 98765-4321", defaultCountry: "br").e164 == "+5511987654321")
    }

    @Test func errorsDescribeThemselves() {
        #expect(PhoneNumberError.invalidCharacters("x").description == "invalid characters: x")
        #expect(PhoneNumberError.missingCountry.description.contains("+country code"))
    }
}
