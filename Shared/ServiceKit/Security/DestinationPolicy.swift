import Foundation
import NIOPosix

/// Where the CRM may send outbound webhooks: never to this host, the cloud's metadata service,
/// private networks or cluster-internal names, unless an operator names them. Registration
/// checks the URL's host and what it resolves to; every delivery checks again just before it
/// connects, so a name that starts resolving to an internal address (DNS rebinding) is caught.
public struct DestinationPolicy: Sendable {
    /// `OUTBOUND_WEBHOOK_ALLOW_LOOPBACK=1`: this host's loopback addresses and `localhost` are
    /// allowed (`make run` sets it, so a developer can point a hook at a local listener).
    public var allowLoopback: Bool
    /// `OUTBOUND_WEBHOOK_ALLOW`: host names, addresses and CIDR ranges allowed even though
    /// they are internal (e.g. `crm-hooks.internal,10.20.0.0/16`).
    public var allowedHosts: Set<String>
    public var allowedNetworks: [IPNetwork]

    public init(allowLoopback: Bool = false, allowed: [String] = []) throws {
        self.allowLoopback = allowLoopback
        var hosts: Set<String> = []
        var networks: [IPNetwork] = []
        for entry in allowed {
            if let network = IPNetwork(entry) {
                networks.append(network)
            } else if entry.contains("/") {
                throw ConfigError("OUTBOUND_WEBHOOK_ALLOW: '\(entry)' is not a valid CIDR range")
            } else {
                hosts.insert(entry.lowercased())
            }
        }
        allowedHosts = hosts
        allowedNetworks = networks
    }

    public init(environment: Environment) throws {
        let flag = (environment["OUTBOUND_WEBHOOK_ALLOW_LOOPBACK"] ?? "0").lowercased()
        try self.init(
            allowLoopback: ["1", "true", "yes"].contains(flag), allowed: environment.list("OUTBOUND_WEBHOOK_ALLOW"))
    }

    public enum Verdict: Sendable, Equatable {
        case allowed
        case refused(String)
    }

    /// The host as written in the URL: a literal address, or a name that is internal by its form.
    public func check(host rawHost: String) -> Verdict {
        let host = Self.bare(rawHost)
        if allowedHosts.contains(host) { return .allowed }
        if let address = IPAddress(host) { return check(address: address) }
        if host == "localhost" || host.hasSuffix(".localhost") {
            return allowLoopback ? .allowed : .refused("\(host) is this host (loopback)")
        }
        if !host.contains(".") { return .refused("\(host) is a cluster-internal name (no domain)") }
        if let suffix = Self.internalSuffixes.first(where: { host.hasSuffix($0) }) {
            return .refused("\(host) is an internal name (\(suffix))")
        }
        return .allowed
    }

    /// One address the host resolves to.
    public func check(address: IPAddress) -> Verdict {
        if allowedNetworks.contains(where: { $0.contains(address) }) { return .allowed }
        guard let kind = address.internalKind else { return .allowed }
        if kind == .loopback && allowLoopback { return .allowed }
        return .refused("\(address) is a \(kind.rawValue) address")
    }

    /// The host's form, then every address it resolves to (`resolve`: getaddrinfo; a test
    /// gives the answer a rebinding DNS server would). A name that does not resolve is allowed
    /// here: the delivery fails on its own, and is checked again each time.
    public func checkResolving(
        host rawHost: String, resolve: @Sendable (String) async -> [IPAddress] = DestinationPolicy.resolve
    ) async -> Verdict {
        let host = Self.bare(rawHost)
        if case .refused(let why) = check(host: host) { return .refused(why) }
        if allowedHosts.contains(host) || IPAddress(host) != nil { return .allowed }
        for address in await resolve(host) {
            if case .refused(let why) = check(address: address) { return .refused("\(host) resolves to \(why)") }
        }
        return .allowed
    }

    static let internalSuffixes = [
        ".local", ".internal", ".localdomain", ".cluster.local", ".svc", ".lan", ".home.arpa", ".intranet", ".corp",
    ]

    /// Lowercased, without the brackets of an IPv6 literal and a trailing dot.
    static func bare(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h.hasSuffix(".") { h = String(h.dropLast()) }
        return h
    }

    /// getaddrinfo on NIO's blocking-I/O pool (it blocks; never on the cooperative pool).
    @Sendable public static func resolve(_ host: String) async -> [IPAddress] {
        (try? await NIOThreadPool.singleton.runIfActive { () -> [IPAddress] in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
            defer { freeaddrinfo(first) }
            var out: [IPAddress] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let n = node {
                if let sa = n.pointee.ai_addr {
                    if n.pointee.ai_family == AF_INET {
                        let v4 = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                        out.append(IPAddress(bytes: withUnsafeBytes(of: v4) { Array($0) }))
                    } else if n.pointee.ai_family == AF_INET6 {
                        let v6 = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                        out.append(IPAddress(bytes: withUnsafeBytes(of: v6) { Array($0) }))
                    }
                }
                node = n.pointee.ai_next
            }
            return out
        }) ?? []
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
public struct IPAddress: Sendable, Equatable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: v6) { Array($0) }
        } else {
            return nil
        }
    }

    public enum Kind: String, Sendable {
        case loopback
        case linkLocal = "link-local"
        case privateNetwork = "private-network"
        case unspecified
        case sharedNetwork = "carrier-grade NAT"
        case multicast, reserved
    }

    /// Why this address is not a public destination, or nil for a public one. An IPv4 address
    /// mapped into IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address.
    public var internalKind: Kind? {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return IPAddress(bytes: Array(bytes[12...])).internalKind
        }
        if bytes.count == 4 {
            let (a, b) = (bytes[0], bytes[1])
            switch a {
            case 0: return .unspecified
            case 10: return .privateNetwork
            case 127: return .loopback
            case 169 where b == 254: return .linkLocal
            case 172 where (16...31).contains(b): return .privateNetwork
            case 192 where b == 168: return .privateNetwork
            case 100 where (64...127).contains(b): return .sharedNetwork
            case 224...239: return .multicast
            case 240...255: return .reserved
            default: return nil
            }
        }
        if bytes.allSatisfy({ $0 == 0 }) { return .unspecified }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return .loopback }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }
        if bytes[0] & 0xFE == 0xFC { return .privateNetwork }
        if bytes[0] == 0xFF { return .multicast }
        return nil
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CIDR range (`10.20.0.0/16`, `fd00::/8`) or a single address.
public struct IPNetwork: Sendable, Equatable {
    public var address: IPAddress
    public var prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else { return nil }
        self.address = address
        self.prefix = prefix
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var left = prefix
        for (a, b) in zip(address.bytes, other.bytes) {
            guard left > 0 else { return true }
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            if a & mask != b & mask { return false }
            left -= 8
        }
        return true
    }
}
