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

    /// JSON text of a value, written by `JSONBytesEncoder` (the same rules as `encoder()`, without
    /// its cost): for the JSON columns written per event.
    public static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONBytesEncoder.encode(value), as: UTF8.self)
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

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-25T20:05:07.764Z`). Every envelope
/// carries several, so they are written and read by hand (Foundation's ISO 8601 format styles
/// cost microseconds each, and rolled `12:99` over to `13:39` instead of refusing it).
public enum RFC3339 {
    public static func string(from date: Date) -> String {
        let totalMs = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(totalMs >= 0 ? totalMs / 1000 : (totalMs - 999) / 1000)
        let ms = Int(totalMs - Int64(seconds) * 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        var out = [UInt8](repeating: 0, count: 23)
        func put(_ value: Int, _ at: Int, _ width: Int) {
            var v = value
            for i in stride(from: at + width - 1, through: at, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
        }
        put(Int(t.tm_year) + 1900, 0, 4)
        out[4] = UInt8(ascii: "-")
        put(Int(t.tm_mon) + 1, 5, 2)
        out[7] = UInt8(ascii: "-")
        put(Int(t.tm_mday), 8, 2)
        out[10] = UInt8(ascii: "T")
        put(Int(t.tm_hour), 11, 2)
        out[13] = UInt8(ascii: ":")
        put(Int(t.tm_min), 14, 2)
        out[16] = UInt8(ascii: ":")
        put(Int(t.tm_sec), 17, 2)
        out[19] = UInt8(ascii: ".")
        put(ms, 20, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339's `date-time` (section 5.6), strictly: every field in range (a minute of 99 or
    /// 31 February is refused, not rolled over), `T`/`Z` in either case, any fraction length.
    public static func date(from string: String) -> Date? {
        fastDate(string)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff…]` then `Z` or `±HH:MM`; anything else is nil.
    static func fastDate(_ string: String) -> Date? {
        var b = Array(string.utf8)
        var offsetSeconds = 0
        if b.count >= 25, b[b.count - 3] == UInt8(ascii: ":"),
            b[b.count - 6] == UInt8(ascii: "+") || b[b.count - 6] == UInt8(ascii: "-")
        {
            let sign = b[b.count - 6] == UInt8(ascii: "-") ? -1 : 1
            let digits = [b[b.count - 5], b[b.count - 4], b[b.count - 2], b[b.count - 1]]
            guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            let v = digits.map { Int($0 - UInt8(ascii: "0")) }
            guard v[0] * 10 + v[1] < 24, v[2] * 10 + v[3] < 60 else { return nil }
            offsetSeconds = sign * ((v[0] * 10 + v[1]) * 3600 + (v[2] * 10 + v[3]) * 60)
            b.removeLast(6)
            b.append(UInt8(ascii: "Z"))
        }
        guard b.count >= 20, b.last == UInt8(ascii: "Z") || b.last == UInt8(ascii: "z"), b[4] == UInt8(ascii: "-"),
            b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(c - UInt8(ascii: "0"))
            }
            return v
        }
        guard let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2),
            let minute = num(14, 2), let second = num(17, 2), (1...12).contains(month),
            (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count > 21 else { return nil }
            var scale = 0.1
            for i in 20..<(b.count - 1) {
                let c = b[i]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                fraction += Double(c - UInt8(ascii: "0")) * scale
                scale /= 10
            }
        }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month - 1)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour)
        t.tm_min = Int32(minute)
        t.tm_sec = Int32(second)
        let seconds = timegm(&t) - offsetSeconds
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }
}

/// Days in a month of the proleptic Gregorian calendar.
private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Meta sends timestamps as strings of epoch seconds ("1698266945").
public enum MetaTimestamp {
    public static func date(_ value: String?) -> Date? {
        guard let value, let seconds = Int64(value) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
