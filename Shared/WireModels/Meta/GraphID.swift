/// Ids the Graph API gives objects (phone number ids, WABA ids): decimal digits only. An id
/// from a caller goes into a Graph URL path, so anything else is refused before it can steer
/// the request to another endpoint (`123/subscribed_apps?x=y#`).
public enum GraphID {
    public static func isValid(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count) && id.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// One path segment of a Graph URL, percent-encoded: even a valid id is never trusted to
    /// be free of `/`, `?` or `#` by the code that builds the URL.
    public static func pathSegment(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E:  // unreserved
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
