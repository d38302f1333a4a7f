import Foundation
import HTTPTypes
import Hummingbird
import WireModels

/// A row of a CSV export: the header names and this row's fields, in the same order.
protocol CSVRow {
    static var csvHeader: [String] { get }
    var csvFields: [String] { get }
}

/// RFC 4180 text: fields separated by commas, lines ended by CRLF; a field containing a comma,
/// a double quote, CR or LF is enclosed in double quotes, with its quotes doubled.
enum CSV {
    static func field(_ value: String) -> String {
        let value = neutralized(value)
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first) gets a
    /// leading `'`, so it shows as text: names, tags and message text come from customers. A
    /// plain signed number (`+5511987654321`, `-3`) is left as it is.
    static func neutralized(_ value: String) -> String {
        guard let first = value.utf8.first,
            [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first)
        else { return value }
        if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            let rest = value.utf8.dropFirst()
            let dots = rest.filter { $0 == UInt8(ascii: ".") }.count
            if !rest.isEmpty, dots <= 1, rest.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: ".") }),
                rest.contains(where: { (0x30...0x39).contains($0) })
            {
                return value
            }
        }
        return "'" + value
    }

    static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }

    static func header<Row: CSVRow>(_: Row.Type) -> String { line(Row.csvHeader) }

    static func lines<Row: CSVRow>(_ rows: [Row]) -> String { rows.map { line($0.csvFields) }.joined() }

    /// Optional values are empty fields; dates RFC 3339.
    static func text(_ value: String?) -> String { value ?? "" }
    static func text(_ value: Int?) -> String { value.map { String($0) } ?? "" }
    static func text(_ value: Double?) -> String { value.map { String($0) } ?? "" }
    static func text(_ value: UUID?) -> String { value.map { $0.uuidString.lowercased() } ?? "" }
    static func text(_ value: Date) -> String { RFC3339.string(from: value) }

    static let contentType = "text/csv; charset=utf-8"

    /// Headers of a CSV download named `name`.csv.
    static func headers(filename name: String) -> HTTPFields {
        var headers: HTTPFields = [.contentType: contentType]
        if let disposition = HTTPField.Name("Content-Disposition") {
            headers[disposition] = "attachment; filename=\"\(name).csv\""
        }
        return headers
    }
}

/// JSON (the default) or CSV: `?format=csv|json` decides; without it, an `Accept` header that
/// names `text/csv` asks for CSV.
enum ResponseFormat: String, Sendable, CaseIterable {
    case json
    case csv

    init(_ request: Request, _ problems: inout Problems) {
        let query = QueryParameters(request)
        if query.isPresent("format") {
            self =
                query.oneOf("format", Self.allCases.map(\.rawValue), &problems).flatMap { Self(rawValue: $0) } ?? .json
        } else if let accept = request.headers[.accept], accept.lowercased().contains("text/csv") {
            self = .csv
        } else {
            self = .json
        }
    }
}
