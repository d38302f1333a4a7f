/// One ITU-T E.164 country calling code.
struct CallingCodeEntry: Sendable {
    /// 1 to 3 digits. Assigned codes are prefix-free (no code starts another), so the first match wins.
    let code: String
    /// ISO 3166-1 alpha-2 regions using the code, main region first; empty for non-geographic codes.
    let regions: [String]
    /// Allowed NSN lengths. nil: not curated, the generic 4...14 applies (capped at E.164's 15 in total).
    let lengths: ClosedRange<Int>?

    init(_ code: String, _ regions: String, _ lengths: ClosedRange<Int>? = nil) {
        self.code = code
        self.regions = regions.split(separator: " ").map(String.init)
        self.lengths = lengths
    }
}

/// Calling codes in service (ITU-T E.164 list of assigned codes, spare and withdrawn ones left out so
/// they fail as `.unknownCountryCode`). NSN lengths cover fixed and mobile numbers of each plan as
/// published by the national regulators (same figures as libphonenumber's metadata), deliberately
/// tolerant: rejecting a real customer's number costs more than accepting a typo.
enum CallingCodeTable {
    static let entries: [CallingCodeEntry] = [
        // Zone 1: the North American Numbering Plan; the area code tells the region (NANPRegions).
        .init("1", "US CA AG AI AS BB BM BS DM DO GD GU JM KN KY LC MP MS PR SX TC TT VC VG VI", 10...10),
        // Zone 7: Russia and Kazakhstan share one plan.
        .init("7", "RU KZ", 10...10),
        // Zone 2: Africa and a few Atlantic islands.
        .init("20", "EG", 8...10), .init("27", "ZA", 9...9),
        .init("211", "SS", 9...9), .init("212", "MA EH", 9...9), .init("213", "DZ", 8...9), .init("216", "TN", 8...8),
        .init("218", "LY"), .init("220", "GM", 7...7), .init("221", "SN", 9...9), .init("222", "MR", 8...8),
        .init("223", "ML", 8...8), .init("224", "GN"), .init("225", "CI", 10...10), .init("226", "BF", 8...8),
        .init("227", "NE", 8...8), .init("228", "TG", 8...8), .init("229", "BJ", 8...10), .init("230", "MU", 7...8),
        .init("231", "LR"), .init("232", "SL", 8...8), .init("233", "GH", 9...9), .init("234", "NG", 7...10),
        .init("235", "TD", 8...8), .init("236", "CF", 8...8), .init("237", "CM", 8...9), .init("238", "CV", 7...7),
        .init("239", "ST", 7...7), .init("240", "GQ", 9...9), .init("241", "GA"), .init("242", "CG", 9...9),
        .init("243", "CD"), .init("244", "AO", 9...9), .init("245", "GW"), .init("246", "IO", 7...7),
        .init("247", "AC"), .init("248", "SC", 7...7), .init("249", "SD", 9...9), .init("250", "RW", 9...9),
        .init("251", "ET", 9...9), .init("252", "SO"), .init("253", "DJ", 8...8), .init("254", "KE", 7...10),
        .init("255", "TZ", 9...9), .init("256", "UG", 9...9), .init("257", "BI", 8...8), .init("258", "MZ", 8...9),
        .init("260", "ZM", 9...9), .init("261", "MG", 9...9), .init("262", "RE YT", 9...9), .init("263", "ZW"),
        .init("264", "NA"), .init("265", "MW"), .init("266", "LS", 8...8), .init("267", "BW", 7...8),
        .init("268", "SZ", 8...8), .init("269", "KM", 7...7), .init("290", "SH TA"), .init("291", "ER", 7...7),
        .init("297", "AW", 7...7), .init("298", "FO", 6...6), .init("299", "GL", 6...6),
        // Zones 3 and 4: Europe.
        .init("30", "GR", 10...10), .init("31", "NL", 9...9), .init("32", "BE", 8...9), .init("33", "FR", 9...9),
        .init("34", "ES", 9...9), .init("36", "HU", 8...9), .init("39", "IT VA", 6...11), .init("40", "RO", 9...9),
        .init("41", "CH", 9...9), .init("43", "AT", 4...13), .init("44", "GB GG IM JE", 7...10),
        .init("45", "DK", 8...8), .init("46", "SE", 7...10), .init("47", "NO SJ", 8...8), .init("48", "PL", 9...9),
        .init("49", "DE", 5...13),
        .init("350", "GI", 8...8), .init("351", "PT", 9...9), .init("352", "LU", 4...11), .init("353", "IE", 7...9),
        .init("354", "IS", 7...9), .init("355", "AL"), .init("356", "MT", 8...8), .init("357", "CY", 8...8),
        .init("358", "FI AX", 5...12), .init("359", "BG", 7...9), .init("370", "LT", 8...8), .init("371", "LV", 8...8),
        .init("372", "EE", 7...8), .init("373", "MD", 8...8), .init("374", "AM", 8...8), .init("375", "BY", 9...9),
        .init("376", "AD"), .init("377", "MC", 8...9), .init("378", "SM"), .init("380", "UA", 9...9),
        .init("381", "RS"), .init("382", "ME", 8...8), .init("383", "XK"), .init("385", "HR", 8...9),
        .init("386", "SI", 8...8), .init("387", "BA", 8...9), .init("389", "MK", 8...8),
        .init("420", "CZ", 9...9), .init("421", "SK", 9...9), .init("423", "LI"),
        // Zone 5: Latin America (Mexico to Argentina; the Caribbean islands are NANP or 59x).
        .init("51", "PE", 8...9), .init("52", "MX", 10...11), .init("53", "CU", 6...8), .init("54", "AR", 10...11),
        .init("55", "BR", 10...11), .init("56", "CL", 9...9), .init("57", "CO", 10...10), .init("58", "VE", 10...10),
        .init("500", "FK", 5...5), .init("501", "BZ", 7...7), .init("502", "GT", 8...8), .init("503", "SV", 7...8),
        .init("504", "HN", 8...8), .init("505", "NI", 8...8), .init("506", "CR", 8...10), .init("507", "PA", 7...8),
        .init("508", "PM", 6...6), .init("509", "HT", 8...8), .init("590", "GP BL MF", 9...9),
        .init("591", "BO", 8...8), .init("592", "GY", 7...7), .init("593", "EC", 8...9), .init("594", "GF", 9...9),
        .init("595", "PY", 6...9), .init("596", "MQ", 9...9), .init("597", "SR", 6...7), .init("598", "UY", 8...8),
        .init("599", "CW BQ", 7...8),
        // Zone 6: South-East Asia and Oceania.
        .init("60", "MY", 8...10), .init("61", "AU CC CX", 9...9), .init("62", "ID", 7...12),
        .init("63", "PH", 8...10), .init("64", "NZ", 8...10), .init("65", "SG", 8...8), .init("66", "TH", 8...9),
        .init("670", "TL"), .init("672", "NF AQ"), .init("673", "BN", 7...7), .init("674", "NR", 7...7),
        .init("675", "PG"), .init("676", "TO"), .init("677", "SB"), .init("678", "VU"), .init("679", "FJ", 7...7),
        .init("680", "PW", 7...7), .init("681", "WF", 6...6), .init("682", "CK", 5...5), .init("683", "NU"),
        .init("685", "WS"), .init("686", "KI"), .init("687", "NC", 6...6), .init("688", "TV"),
        .init("689", "PF", 8...8), .init("690", "TK"), .init("691", "FM", 7...7), .init("692", "MH", 7...7),
        // Zone 8: East Asia and global services (non-geographic: no region).
        .init("81", "JP", 9...10), .init("82", "KR", 8...11), .init("84", "VN", 9...10), .init("86", "CN", 9...11),
        .init("800", "", 8...8), .init("808", "", 8...8), .init("850", "KP"), .init("852", "HK", 8...8),
        .init("853", "MO", 8...8), .init("855", "KH"), .init("856", "LA"), .init("870", "", 9...9),
        .init("878", ""), .init("880", "BD", 8...10), .init("881", ""), .init("882", ""), .init("883", ""),
        .init("886", "TW", 8...9), .init("888", ""),
        // Zone 9: West, South and Central Asia.
        .init("90", "TR", 10...10), .init("91", "IN", 10...10), .init("92", "PK", 8...10), .init("93", "AF", 9...9),
        .init("94", "LK", 9...9), .init("95", "MM", 7...10), .init("98", "IR", 10...10),
        .init("960", "MV", 7...7), .init("961", "LB", 7...8), .init("962", "JO", 8...9), .init("963", "SY", 8...9),
        .init("964", "IQ", 8...10), .init("965", "KW", 8...8), .init("966", "SA", 8...9), .init("967", "YE"),
        .init("968", "OM", 8...8), .init("970", "PS", 8...9), .init("971", "AE", 8...9), .init("972", "IL", 8...9),
        .init("973", "BH", 8...8), .init("974", "QA", 8...8), .init("975", "BT"), .init("976", "MN", 8...8),
        .init("977", "NP"), .init("979", "", 9...9), .init("992", "TJ", 9...9), .init("993", "TM", 8...8),
        .init("994", "AZ", 9...9), .init("995", "GE", 9...9), .init("996", "KG", 9...9), .init("998", "UZ", 9...9),
    ]

    /// Used when a code has no curated lengths: E.164 numbers have 4+ national digits in practice and
    /// at most 15 digits in total.
    static let genericLengths = 4...14
    static let maxE164Digits = 15

    static let byCode: [String: CallingCodeEntry] = Dictionary(
        uniqueKeysWithValues: entries.map { ($0.code, $0) })

    static let byRegion: [String: CallingCodeEntry] = Dictionary(
        entries.flatMap { entry in entry.regions.map { ($0, entry) } }, uniquingKeysWith: { first, _ in first })

    /// The calling code that starts `digits` and the remaining national part. Codes are prefix-free,
    /// so trying 1, 2 then 3 digits is a longest-prefix match.
    static func match(_ digits: String) -> (entry: CallingCodeEntry, rest: Substring)? {
        for length in 1...3 where digits.count >= length {
            if let entry = byCode[String(digits.prefix(length))] {
                return (entry, digits.dropFirst(length))
            }
        }
        return nil
    }

    /// Allowed NSN lengths of `entry` including the E.164 total cap.
    static func lengths(of entry: CallingCodeEntry) -> ClosedRange<Int> {
        let range = entry.lengths ?? genericLengths
        return range.lowerBound...min(range.upperBound, maxE164Digits - entry.code.count)
    }
}
