/// Reads RFC 4180 CSV back (quoted fields, doubled quotes, CRLF or LF line ends, line breaks
/// inside quotes), so tests can check that an export says what the JSON says.
enum CSVParser {
    enum Problem: Error { case unterminatedQuote, textAfterQuote }

    static func rows(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var chars = Array(text.unicodeScalars)[...]
        var quoted = false
        while let ch = chars.popFirst() {
            if quoted {
                if ch == "\"" {
                    if chars.first == "\"" {
                        chars.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        if let next = chars.first, next != ",", next != "\r", next != "\n" {
                            throw Problem.textAfterQuote
                        }
                    }
                } else {
                    field.unicodeScalars.append(ch)
                }
                continue
            }
            switch ch {
            case "\"" where field.isEmpty: quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\r" where chars.first == "\n": continue
            case "\n", "\r":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.unicodeScalars.append(ch)
            }
        }
        if quoted { throw Problem.unterminatedQuote }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    /// Rows as dictionaries keyed by the header line.
    static func records(_ text: String) throws -> [[String: String]] {
        let all = try rows(text)
        guard let header = all.first else { return [] }
        return all.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
