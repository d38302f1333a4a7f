import CRMCore
import Outbound

/// CSV exports read back with the RFC 4180 reader the campaign audience upload uses, so tests
/// can check that an export says what the JSON says.
enum CSVParser {
    /// Rows as dictionaries keyed by the header line.
    static func records(_ text: String) -> [[String: String]] {
        let all = CSVReader.records(text).map(\.fields)
        guard let header = all.first else { return [] }
        return all.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
