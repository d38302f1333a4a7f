/// A secret held in memory (an access token, a signing secret) that never prints: logging a
/// value that contains one — a service's description at start-up, an error, a dump — shows
/// `<redacted>`. Read `value` only where the secret is used (a header, an HMAC key).
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
