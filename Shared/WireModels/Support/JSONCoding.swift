import Foundation

/// One encoder/decoder configuration for everything that crosses Kafka or the API:
/// snake_case keys are spelled out in CodingKeys, dates are RFC 3339 UTC.
public enum JSONCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(RFC3339.string(from: date))
        }
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = RFC3339.date(from: s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 timestamp: \(s)")
            }
            return date
        }
        return d
    }
}

public enum RFC3339 {
    public static func string(from date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)
        )
        .replacingOccurrences(of: "+0000", with: "Z")
    }

    public static func date(from string: String) -> Date? {
        if let d = try? Date(string, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
            return d
        }
        return try? Date(string, strategy: .iso8601)
    }
}

/// Meta sends timestamps as strings of epoch seconds ("1698266945").
public enum MetaTimestamp {
    public static func date(_ value: String?) -> Date? {
        guard let value, let seconds = Int64(value) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
