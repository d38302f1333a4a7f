import Testing
import WireModels

/// Properties over numbers generated for every calling code: parsing is stable under every accepted
/// spelling, and WhatsApp equivalents form one class with one key.
@Suite struct PhonePropertyTests {
    /// A national significant number the plan accepts: no leading 0 or 1 (trunk prefixes, NANP area
    /// codes), Brazil's 11 digits carry the mobile 9, Mexico's and Argentina's carry their 1 and 9.
    static func nationalNumber(code: Int, length: Int, using rng: inout SplitMix64) -> String {
        func digits(_ count: Int) -> String {
            String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
        }
        let first = String(Int.random(in: 2...9, using: &rng))
        switch (code, length) {
        case (55, 11): return first + digits(1) + "9" + digits(8)
        case (52, 11): return "1" + first + digits(9)
        case (54, 11): return "9" + first + digits(9)
        default: return first + digits(length - 1)
        }
    }

    static func generatedNumbers() -> [(code: Int, nsn: String)] {
        var rng = SplitMix64(seed: 20_240_607)
        var out: [(code: Int, nsn: String)] = []
        for code in PhoneNumber.callingCodes {
            guard let lengths = PhoneNumber.nationalNumberLengths(forCallingCode: code) else { continue }
            // The WhatsApp quirk countries get many more samples.
            let count = [52, 54, 55].contains(code) ? 400 : 25
            for _ in 0..<count {
                let length = Int.random(in: lengths, using: &rng)
                out.append((code, nationalNumber(code: code, length: length, using: &rng)))
            }
        }
        return out
    }

    @Test func e164RoundTripsInEverySpelling() throws {
        let numbers = Self.generatedNumbers()
        #expect(numbers.count > 5000)
        for (code, nsn) in numbers {
            let e164 = "+\(code)\(nsn)"
            let parsed = try PhoneNumber.parse(e164)
            #expect(parsed.e164 == e164)
            #expect(parsed.countryCode == code)
            #expect(parsed.nationalNumber == nsn)
            let spaced = "+\(code) (\(nsn.prefix(3))) \(nsn.dropFirst(3).prefix(3))-\(nsn.dropFirst(6))"
            for spelling in ["\(code)\(nsn)", "00\(code)\(nsn)", "011\(code)\(nsn)", spaced] {
                #expect(try PhoneNumber.parse(spelling).e164 == e164, "\(spelling)")
            }
            #expect(PhoneNumber.e164(e164) == e164)
            // Dialled within its own region, without a trunk prefix, it is the same number.
            if let region = parsed.region {
                #expect(try PhoneNumber.parse(nsn, defaultCountry: region).e164 == e164, "\(region) \(nsn)")
            }
        }
    }

    @Test func equivalentsShareOneKey() throws {
        var withVariants = 0
        for (code, nsn) in Self.generatedNumbers() {
            let parsed = try PhoneNumber.parse("+\(code)\(nsn)")
            let equivalents = parsed.whatsAppEquivalents
            #expect(equivalents.first == parsed.whatsAppKey)
            #expect(equivalents.contains(parsed.e164))
            #expect(Set(equivalents).count == equivalents.count)
            if equivalents.count > 1 { withVariants += 1 }
            for form in equivalents {
                let other = try PhoneNumber.parse(form)
                #expect(other.whatsAppKey == parsed.whatsAppKey, "\(form) vs \(parsed.e164)")
                #expect(Set(other.whatsAppEquivalents) == Set(equivalents))
            }
            #expect(try PhoneNumber.parse(parsed.whatsAppKey).whatsAppKey == parsed.whatsAppKey)
        }
        #expect(withVariants > 500)
    }
}
