/// Read access to the calling-code table, for configuration checks (is a default country known?)
/// and for tests that generate numbers from it.
extension PhoneNumber {
    /// Every calling code the parser accepts, ascending.
    public static var callingCodes: [Int] {
        CallingCodeTable.entries.compactMap { Int($0.code) }.sorted()
    }

    /// Calling code of an ISO 3166-1 alpha-2 region (any case), nil when unknown.
    public static func callingCode(forRegion region: String) -> Int? {
        CallingCodeTable.byRegion[region.uppercased()].flatMap { Int($0.code) }
    }

    /// Regions sharing a calling code, main region first; empty for non-geographic codes.
    public static func regions(forCallingCode code: Int) -> [String] {
        CallingCodeTable.byCode[String(code)]?.regions ?? []
    }

    /// National significant number lengths accepted after a calling code (generic 4...14 capped at
    /// E.164's 15 digits where the table has no specific range), nil for an unknown code.
    public static func nationalNumberLengths(forCallingCode code: Int) -> ClosedRange<Int>? {
        CallingCodeTable.byCode[String(code)].map(CallingCodeTable.lengths(of:))
    }
}
