import Testing
import WireModels

/// National formats with `defaultCountry`: trunk prefixes and each country's dialling quirks.
@Suite struct PhoneNationalFormatTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let input: String
        let region: String
        let e164: String
        var testDescription: String { "\(region) \(input)" }
        init(_ input: String, _ region: String, _ e164: String) {
            self.input = input
            self.region = region
            self.e164 = e164
        }
    }

    /// Brazil: trunk 0, optional long-distance carrier code (CSP) after it, written "0xx" when unspecified.
    @Test(arguments: [
        Case("(11) 98765-4321", "BR", "+5511987654321"),
        Case("011 98765-4321", "BR", "+5511987654321"),
        Case("0 15 11 98765-4321", "BR", "+5511987654321"),
        Case("0 41 11 8765-4321", "BR", "+551187654321"),
        Case("(0xx11) 98765-4321", "BR", "+5511987654321"),
        Case("0XX21 2345-6789", "BR", "+552123456789"),
        Case("0 21 21 2345-6789", "BR", "+552123456789"),
        Case("0 12 3456-7890", "BR", "+551234567890"),  // area 12, not carrier 12
        Case("0 15 98765-4321", "BR", "+5515987654321"),  // area 15, not carrier 15
        Case("55 11 98765-4321", "BR", "+5511987654321"),  // country code without + or 00
        Case("0800 123 4567", "BR", "+558001234567"),
    ])
    func brazil(_ c: Case) throws {
        #expect(try PhoneNumber.parse(c.input, defaultCountry: c.region).e164 == c.e164)
    }

    /// Mexico: the pre-2019 prefixes 044/045 (mobile) and 01 (long distance) before 10 digits.
    @Test(arguments: [
        Case("55 1234 5678", "MX", "+525512345678"),
        Case("044 55 1234 5678", "MX", "+525512345678"),
        Case("045 33 1234 5678", "MX", "+523312345678"),
        Case("01 81 1234 5678", "MX", "+528112345678"),
        Case("1 55 1234 5678", "MX", "+5215512345678"),  // the legacy mobile form is kept as written
    ])
    func mexico(_ c: Case) throws {
        #expect(try PhoneNumber.parse(c.input, defaultCountry: c.region).e164 == c.e164)
    }

    /// Argentina: trunk 0, and "15" after the area code marks a mobile; internationally that is 9 + area.
    @Test(arguments: [
        Case("011 15-1234-5678", "AR", "+5491112345678"),
        Case("11 15 1234 5678", "AR", "+5491112345678"),
        Case("0351 15 123-4567", "AR", "+5493511234567"),
        Case("02966 15 12-3456", "AR", "+5492966123456"),
        Case("011 4123-4567", "AR", "+541141234567"),
        Case("0351 423-4567", "AR", "+543514234567"),
    ])
    func argentina(_ c: Case) throws {
        #expect(try PhoneNumber.parse(c.input, defaultCountry: c.region).e164 == c.e164)
    }

    @Test(arguments: [
        Case("(415) 555-2671", "US", "+14155552671"),
        Case("1-415-555-2671", "US", "+14155552671"),
        Case("416.555.2671", "CA", "+14165552671"),
        Case("(876) 555-2671", "JM", "+18765552671"),
        Case("020 7946 0958", "GB", "+442079460958"),
        Case("07911 123456", "GB", "+447911123456"),
        Case("030 901820", "DE", "+4930901820"),
        Case("0151 23456789", "DE", "+4915123456789"),
        Case("06 12 34 56 78", "FR", "+33612345678"),
        Case("06 6982 0000", "IT", "+390669820000"),
        Case("312 345 6789", "IT", "+393123456789"),
        Case("612 34 56 78", "ES", "+34612345678"),
        Case("06 12345678", "NL", "+31612345678"),
        Case("8 (912) 345-67-89", "RU", "+79123456789"),
        Case("8 701 234 5678", "KZ", "+77012345678"),
        Case("06 30 123 4567", "HU", "+36301234567"),
        Case("0532 123 45 67", "TR", "+905321234567"),
        Case("098765 43210", "IN", "+919876543210"),
        Case("98765 43210", "IN", "+919876543210"),
        Case("0812-3456-7890", "ID", "+6281234567890"),
        Case("050-123-4567", "IL", "+972501234567"),
        Case("0803 123 4567", "NG", "+2348031234567"),
        Case("082 123 4567", "ZA", "+27821234567"),
        Case("010 1234 5678", "EG", "+201012345678"),
        Case("050 123 4567", "SA", "+966501234567"),
        Case("050 123 4567", "AE", "+971501234567"),
        Case("0300 1234567", "PK", "+923001234567"),
        Case("0917 123 4567", "PH", "+639171234567"),
        Case("091 234 56 78", "VN", "+84912345678"),
        Case("0712 345678", "KE", "+254712345678"),
        Case("300 123 4567", "CO", "+573001234567"),
        Case("9 8765 4321", "CL", "+56987654321"),
        Case("987 654 321", "PE", "+51987654321"),
        Case("8312 3456", "CR", "+50683123456"),
        Case("099 123 456", "UY", "+59899123456"),
        Case("0412-1234567", "VE", "+584121234567"),
        Case("090-1234-5678", "JP", "+819012345678"),
        Case("0412 345 678", "AU", "+61412345678"),
    ])
    func trunkPrefixes(_ c: Case) throws {
        #expect(try PhoneNumber.parse(c.input, defaultCountry: c.region).e164 == c.e164)
    }

    @Test func regionOfANationalNumber() throws {
        #expect(try PhoneNumber.parse("(876) 555-2671", defaultCountry: "US").region == "JM")
        #expect(try PhoneNumber.parse("07797 123456", defaultCountry: "JE").region == "JE")
        #expect(try PhoneNumber.parse("8 701 234 5678", defaultCountry: "RU").region == "KZ")
    }

    @Test func nationalErrors() {
        #expect(throws: PhoneNumberError.tooShort) { try PhoneNumber.parse("011 9876-543", defaultCountry: "BR") }
        #expect(throws: PhoneNumberError.tooLong) { try PhoneNumber.parse("011 98765-43210", defaultCountry: "BR") }
        #expect(throws: PhoneNumberError.tooLong) { try PhoneNumber.parse("044 55 1234 56789", defaultCountry: "MX") }
        #expect(throws: PhoneNumberError.tooShort) { try PhoneNumber.parse("15 1234 567", defaultCountry: "AR") }
        // A mobile written without its area code: Argentina has no area code 15.
        #expect(throws: PhoneNumberError.invalidNationalNumber) {
            try PhoneNumber.parse("15 1234 5678", defaultCountry: "AR")
        }
        #expect(throws: PhoneNumberError.invalidNationalNumber) {
            try PhoneNumber.parse("(023) 456-7890", defaultCountry: "US")
        }
    }
}
