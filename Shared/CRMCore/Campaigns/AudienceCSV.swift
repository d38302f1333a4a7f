import Foundation
import WireModels

/// A campaign audience uploaded as CSV: a header row with a `phone` column and any other
/// columns (values for the template mapping's `campaign` fields), then one recipient per row.
/// Every row is checked; a bad one is reported with its row number (the header is row 1, as a
/// spreadsheet shows it) and the reason, never silently dropped. Blank lines are not rows.
public struct AudienceCSV: Sendable, Equatable {
    public struct RejectedRow: Sendable, Equatable, Codable {
        public var row: Int
        public var reason: String
        public init(row: Int, reason: String) {
            self.row = row
            self.reason = reason
        }
    }

    /// Problems with the file as a whole (no header, no phone column, a column the mapping
    /// needs is missing): nothing can be imported.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "; ") }
    }

    public static let maxRows = 100_000

    public var columns: [String]
    public var members: [AudienceMember]
    public var rejected: [RejectedRow]

    /// - Parameters:
    ///   - required: columns that must exist and be non-empty in each row (the mapping's
    ///     `campaign` fields).
    ///   - defaultCountry: ISO region for numbers written without a country code.
    public static func parse(_ text: String, required: Set<String>, defaultCountry: String? = nil) throws(Invalid)
        -> AudienceCSV
    {
        let records = CSVReader.records(text)
        guard let first = records.first else { throw Invalid(problems: ["the CSV is empty (no header row)"]) }
        let header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var problems: [String] = []
        let lowered = header.map { $0.lowercased() }
        guard let phoneIndex = lowered.firstIndex(of: "phone") else {
            throw Invalid(problems: ["the header has no phone column (columns: \(header.joined(separator: ", ")))"])
        }
        for (i, name) in header.enumerated() where name.isEmpty {
            problems.append("header column \(i + 1) has no name")
        }
        for name in Set(lowered) where lowered.filter({ $0 == name }).count > 1 && !name.isEmpty {
            problems.append("header column \(name) appears more than once")
        }
        for name in required.sorted() where !header.contains(name) {
            problems.append("column \(name) is missing (the template mapping takes it)")
        }
        if let defaultCountry, PhoneNumber.callingCode(forRegion: defaultCountry) == nil {
            problems.append("default_country \(defaultCountry) is not an ISO 3166 country code")
        }
        if records.count - 1 > maxRows { problems.append("more than \(maxRows) rows") }
        if records.count == 1 { problems.append("the CSV has a header but no rows") }
        guard problems.isEmpty else { throw Invalid(problems: problems) }

        var out = AudienceCSV(columns: header, members: [], rejected: [])
        var firstRowOf: [String: Int] = [:]
        for (line, fields) in records.dropFirst() {
            guard fields.count == header.count else {
                out.rejected.append(
                    RejectedRow(row: line, reason: "has \(fields.count) fields, the header has \(header.count)"))
                continue
            }
            let rawPhone = fields[phoneIndex].trimmingCharacters(in: .whitespaces)
            let digits: String
            do {
                digits = try PhoneNumber.parse(rawPhone, defaultCountry: defaultCountry).digits
            } catch {
                out.rejected.append(
                    RejectedRow(
                        row: line, reason: rawPhone.isEmpty ? "phone is empty" : "phone \(rawPhone): \(error)"))
                continue
            }
            if let first = firstRowOf[digits] {
                out.rejected.append(RejectedRow(row: line, reason: "phone +\(digits) duplicates row \(first)"))
                continue
            }
            var columns: [String: String] = [:]
            for (i, name) in header.enumerated() where i != phoneIndex {
                columns[name] = fields[i].trimmingCharacters(in: .whitespaces)
            }
            let empty = required.sorted().filter { (columns[$0] ?? "").isEmpty }
            if !empty.isEmpty {
                out.rejected.append(
                    RejectedRow(row: line, reason: "missing value for \(empty.joined(separator: ", "))"))
                continue
            }
            firstRowOf[digits] = line
            out.members.append(AudienceMember(phone: digits, row: line, columns: columns))
        }
        return out
    }
}

/// RFC 4180 records: fields separated by commas, optionally quoted ("" inside quotes is a
/// quote; quoted fields may hold commas and new lines), records ended by LF or CRLF.
public enum CSVReader {
    /// Each non-blank record with the line number it starts on.
    public static func records(_ text: String) -> [(line: Int, fields: [String])] {
        var out: [(Int, [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var start = 1
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }  // a spreadsheet's byte order mark
        var i = 0
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].trimmingCharacters(in: .whitespaces).isEmpty) {
                out.append((start, fields))
            }
            fields = []
            field = ""
        }
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.trimmingCharacters(in: .whitespaces).isEmpty {
                field = ""
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r" && i + 1 < chars.count && chars[i + 1] == "\n" { i += 1 }
                endRecord()
                line += 1
                start = line
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return out
    }
}

/// One recipient to materialize: digits of the number (the `wa_id` form), the contact when
/// known, the CSV row number and the row's columns (for the mapping's `campaign` fields).
public struct AudienceMember: Sendable, Equatable {
    public var phone: String
    public var contactId: UUID?
    public var row: Int?
    public var columns: [String: String]

    public init(phone: String, contactId: UUID? = nil, row: Int? = nil, columns: [String: String] = [:]) {
        self.phone = phone
        self.contactId = contactId
        self.row = row
        self.columns = columns
    }
}
