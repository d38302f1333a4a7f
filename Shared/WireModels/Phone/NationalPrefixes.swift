/// Dialling prefixes that are not part of the number: international (IDD) prefixes, national trunk
/// prefixes, and the country quirks around them. Each function proposes candidate national numbers
/// in preference order; `NumberingPlan` decides which one is a number at all.
enum NationalPrefixes {
    /// Regions whose plans have no trunk prefix: a leading 0 there is part of the number (Italy's
    /// "06…"; Côte d'Ivoire, Congo, Gabon and Benin moved to NSNs starting with 0).
    private static let noTrunkPrefix: Set<String> = [
        "IT", "VA", "SM", "ES", "PT", "GR", "DK", "NO", "SJ", "PL", "CZ", "LU", "MT", "CY", "EE", "LV", "IS",
        "MC", "AD", "FO", "GL", "CI", "CG", "GA", "BJ", "SN", "ML", "BF", "NE", "TG", "GN", "MR", "CV", "ST",
        "GQ", "GW", "SC", "DJ", "CF", "TD", "BI", "MU", "QA", "BH", "KW", "OM", "HK", "MO", "SG", "BN", "TL",
        "FJ", "PG", "CR", "GT", "SV", "HN", "NI", "PA", "BZ", "GY", "SR", "HT",
    ]

    /// Trunk ("long-distance") prefixes other than the usual "0", longest first.
    private static let specialTrunkPrefixes: [String: [String]] = [
        // Russia and its neighbours dial 8 before the area code.
        "RU": ["8"], "KZ": ["8"], "BY": ["8"], "TJ": ["8"], "TM": ["8"],
        // Lithuania replaced 8 with 0 in 2025; both are still written.
        "LT": ["8", "0"],
        "HU": ["06"],
        // Mexico abolished its prefixes in August 2019, but people still write the old ones:
        // 044 (local mobile), 045 (long-distance mobile), 01 (long distance), each before 10 digits.
        "MX": ["044", "045", "01"],
    ]

    /// Brazil's long-distance carrier selection codes (CSP) as they appear in "0 CC AA NNNN-NNNN"
    /// (libphonenumber's list). Only these are stripped so a mistyped extra digit is not taken for one.
    static let brazilCarrierCodes: Set<String> = [
        "12", "14", "15", "21", "22", "23", "25", "31", "41", "43", "55", "65", "99",
    ]

    /// Argentina's area codes of 3 digits; 11 (Buenos Aires) is the only 2-digit one, the rest have 4.
    /// Needed to find the "15" mobile prefix, which sits between area code and subscriber number.
    private static let argentinaThreeDigitAreas: Set<String> = [
        "220", "221", "223", "230", "236", "237", "249", "260", "261", "263", "264", "266", "280", "291",
        "294", "297", "298", "299", "336", "341", "342", "343", "345", "348", "351", "353", "358", "362",
        "364", "370", "376", "379", "380", "381", "383", "385", "387", "388",
    ]

    static func trunkPrefixes(region: String) -> [String] {
        if let special = specialTrunkPrefixes[region] { return special }
        if noTrunkPrefix.contains(region) { return [] }
        if CallingCodeTable.byRegion[region]?.code == "1" { return ["1"] }  // NANP: the "1" before the area code
        return ["0"]
    }

    /// Numbers a region's subscribers would dial after its international prefix, most likely first.
    /// Without a region both "00" (most of the world) and "011" (NANP) are accepted.
    static func afterInternationalPrefix(_ digits: String, region: String?) -> [String] {
        let prefixes: [String]
        switch region {
        case nil: prefixes = ["00", "011"]
        case "AU", "CC", "CX": prefixes = ["0011", "00"]
        case "JP": prefixes = ["010", "00"]
        case let region? where CallingCodeTable.byRegion[region]?.code == "1": prefixes = ["011", "00"]
        default: prefixes = ["00"]
        }
        var out = prefixes.filter { digits.hasPrefix($0) }.map { String(digits.dropFirst($0.count)) }
        // Brazil dials "00 + carrier + country code"; tried after plain "00", which people write far more.
        if region == "BR", let rest = out.first, brazilCarrierCodes.contains(String(rest.prefix(2))) {
            out.append(String(rest.dropFirst(2)))
        }
        return out
    }

    /// Candidate NSNs for digits dialled nationally in `region`: prefix-stripped readings first, the
    /// digits as typed last. `primary` is the reading whose error is reported when none is valid.
    static func nationalCandidates(_ digits: String, region: String) -> (ordered: [String], primary: String) {
        var ordered: [String] = []
        var primary = digits
        let trunks = trunkPrefixes(region: region)
        if let trunk = trunks.first(where: { digits.hasPrefix($0) }) {
            let afterTrunk = String(digits.dropFirst(trunk.count))
            // Brazil: "0 15 11 98765-4321" picks carrier 15 for a long-distance call.
            if region == "BR", brazilCarrierCodes.contains(String(afterTrunk.prefix(2))) {
                ordered.append(String(afterTrunk.dropFirst(2)))
            }
            ordered.append(afterTrunk)
            primary = afterTrunk
        }
        ordered.append(digits)
        if region == "AR" {
            ordered = ordered.flatMap { candidate in [argentineMobileFrom15(candidate), candidate].compactMap { $0 } }
        }
        return (unique(ordered), primary)
    }

    /// Candidate NSNs after an international country code: as written first (a number sent in
    /// international form is taken literally when valid), then with a stray trunk prefix removed
    /// ("+44 (0)20 7946 0958") or a country quirk undone.
    static func candidatesAfterCountryCode(_ rest: String, entry: CallingCodeEntry) -> (
        ordered: [String], primary: String
    ) {
        guard let region = entry.regions.first else { return ([rest], rest) }
        return (unique([rest] + nationalCandidates(rest, region: region).ordered), rest)
    }

    /// Argentina's national mobile form "AA 15 LLLLLLLL" (area code, 15, local number; 12 digits) as
    /// the international mobile NSN "9 AA LLLLLLLL": the 15 is a national-only mobile marker and the
    /// international form marks mobiles with a 9 after the country code instead.
    static func argentineMobileFrom15(_ nsn: String) -> String? {
        guard nsn.count == 12 else { return nil }
        let chars = Array(nsn)
        // 11 is certain; elsewhere the 3-digit list picks the split tried first, and the other split
        // catches an area code the list lacks.
        let areaLengths =
            nsn.hasPrefix("11") ? [2] : argentinaThreeDigitAreas.contains(String(nsn.prefix(3))) ? [3, 4] : [4, 3]
        for areaLength in areaLengths where chars[areaLength] == "1" && chars[areaLength + 1] == "5" {
            return "9" + String(chars[..<areaLength]) + String(chars[(areaLength + 2)...])
        }
        return nil
    }

    private static func unique<T: Hashable>(_ items: [T]) -> [T] {
        var seen: Set<T> = []
        return items.filter { seen.insert($0).inserted }
    }
}
