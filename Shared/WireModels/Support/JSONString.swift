import Foundation

/// JSON string literal writing for UTF-8 text (quotes, backslashes and control characters
/// escaped; everything else, including non-ASCII, copied as is).
public enum JSONString {
    public static func append<Text: Sequence<UInt8>>(_ text: Text, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for c in text {
            switch c {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0x0F)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
