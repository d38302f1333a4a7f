import Testing
import WireModels

/// The calling-code table: complete where promised and unambiguous.
@Suite struct PhoneCallingCodeTableTests {
    @Test func codesArePrefixFreeAndOneToThreeDigits() {
        let codes = PhoneNumber.callingCodes.map(String.init)
        #expect(codes.count > 200)
        for code in codes {
            #expect((1...3).contains(code.count))
            for other in codes where other != code {
                #expect(!other.hasPrefix(code), "\(code) is a prefix of \(other)")
            }
        }
    }

    @Test func regionsMapBackToTheirCode() {
        for code in PhoneNumber.callingCodes {
            for region in PhoneNumber.regions(forCallingCode: code) {
                #expect(PhoneNumber.callingCode(forRegion: region) == code, "\(region)")
            }
        }
        #expect(PhoneNumber.callingCode(forRegion: "br") == 55)
        #expect(PhoneNumber.callingCode(forRegion: "XX") == nil)
    }

    /// Countries the CRM serves have curated lengths, not the generic 4...14 fallback. (Austria is
    /// curated too, but its open plan's 4...13 equals the capped fallback, so it cannot be told apart.)
    @Test(arguments: [
        // Latin America
        "MX", "GT", "SV", "HN", "NI", "CR", "PA", "CU", "HT", "DO", "PR", "CO", "VE", "EC", "PE", "BO", "PY", "UY",
        "AR", "CL", "BR", "GY", "SR", "GF", "BZ",
        // Europe's majors
        "GB", "DE", "FR", "IT", "ES", "NL", "BE", "PL", "PT", "SE", "NO", "DK", "FI", "CH", "IE", "GR", "CZ",
        "RO", "HU", "UA", "RU",
        // and
        "US", "CA", "IN", "ID", "IL", "TR", "NG", "ZA", "EG", "SA", "AE", "PK", "PH", "VN", "KE",
    ])
    func curatedLengths(region: String) throws {
        let code = try #require(PhoneNumber.callingCode(forRegion: region))
        let generic = 4...(15 - String(code).count)
        #expect(PhoneNumber.nationalNumberLengths(forCallingCode: code) != generic)
    }

    @Test func everyNANPRegionIsUnderOne() {
        let nanp = [
            "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP",
            "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
        ]
        #expect(Set(PhoneNumber.regions(forCallingCode: 1)) == Set(nanp))
    }

    @Test(arguments: [
        ("268", "AG"), ("264", "AI"), ("684", "AS"), ("246", "BB"), ("441", "BM"), ("242", "BS"), ("767", "DM"),
        ("829", "DO"), ("473", "GD"), ("671", "GU"), ("658", "JM"), ("869", "KN"), ("345", "KY"), ("758", "LC"),
        ("670", "MP"), ("664", "MS"), ("939", "PR"), ("721", "SX"), ("649", "TC"), ("868", "TT"), ("784", "VC"),
        ("284", "VG"), ("340", "VI"), ("604", "CA"), ("212", "US"),
    ])
    func nanpAreaCodeGivesTheRegion(area: String, region: String) throws {
        #expect(try PhoneNumber.parse("+1 \(area) 555 0123").region == region)
    }

    @Test func nonGeographicCodesHaveNoRegion() {
        for code in [800, 808, 870, 878, 881, 882, 883, 888, 979] {
            #expect(PhoneNumber.regions(forCallingCode: code).isEmpty)
        }
    }
}
