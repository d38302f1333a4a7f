import ServiceKit
import Testing

/// Which hosts outbound webhooks may reach.
struct DestinationPolicyTests {
    @Test func internalAddressesAndNamesAreRefusedPublicOnesAllowed() throws {
        let policy = try DestinationPolicy()
        for host in [
            "127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "api.localhost", "169.254.169.254", "fe80::1",
            "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.10", "fc00::1", "fd12:3456::1", "0.0.0.0", "::",
            "100.64.0.1", "224.0.0.1", "::ffff:10.0.0.1", "postgres", "kafka", "redis.internal", "db.local",
            "api.default.svc.cluster.local", "printer.lan", "LOCALHOST.",
        ] {
            guard case .refused = policy.check(host: host) else {
                Issue.record("\(host) was allowed")
                continue
            }
        }
        for host in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "hooks.example.com", "2001:4860:4860::8888"] {
            #expect(policy.check(host: host) == .allowed, "\(host)")
        }
    }

    @Test func loopbackAndTheAllowListOpenOnlyWhatTheyName() throws {
        let dev = try DestinationPolicy(allowLoopback: true)
        #expect(dev.check(host: "127.0.0.1") == .allowed)
        #expect(dev.check(host: "localhost") == .allowed)
        #expect(dev.check(host: "::1") == .allowed)
        // Link-local and private ranges stay refused with loopback allowed.
        for host in ["169.254.169.254", "10.0.0.5", "postgres"] {
            #expect(dev.check(host: host) != .allowed, "\(host)")
        }
        let ops = try DestinationPolicy(allowed: ["hooks.internal", "10.20.0.0/16", "fd00::/8"])
        #expect(ops.check(host: "hooks.internal") == .allowed)
        #expect(ops.check(host: "10.20.3.4") == .allowed)
        #expect(ops.check(host: "10.21.0.1") != .allowed)
        #expect(ops.check(host: "fd00::5") == .allowed)
        #expect(ops.check(host: "other.internal") != .allowed)
        #expect(throws: ConfigError.self) { try DestinationPolicy(allowed: ["10.0.0.0/33"]) }
    }

    @Test func cidrRangesContainTheirAddresses() throws {
        let net = try #require(IPNetwork("172.16.0.0/12"))
        #expect(net.contains(try #require(IPAddress("172.31.1.1"))))
        #expect(!net.contains(try #require(IPAddress("172.32.0.0"))))
        #expect(!net.contains(try #require(IPAddress("::1"))))
        #expect(IPAddress("fd00::1")?.description == "fd00::1")
        #expect(IPAddress("not an address") == nil)
    }

    /// A public-looking name whose DNS answer is internal (rebinding, or a name planted in a
    /// zone) is refused: the answer is checked, at registration and before every delivery.
    @Test func aNameThatResolvesInsideIsRefused() async throws {
        let policy = try DestinationPolicy()
        let inside: @Sendable (String) async -> [IPAddress] = { _ in
            [IPAddress("93.184.216.34")!, IPAddress("10.0.0.5")!]
        }
        let outside: @Sendable (String) async -> [IPAddress] = { _ in [IPAddress("93.184.216.34")!] }
        let metadata: @Sendable (String) async -> [IPAddress] = { _ in [IPAddress("169.254.169.254")!] }
        guard case .refused(let why) = await policy.checkResolving(host: "hooks.example.com", resolve: inside) else {
            Issue.record("a name resolving to 10.0.0.5 was allowed")
            return
        }
        #expect(why.contains("hooks.example.com resolves to"))
        #expect(await policy.checkResolving(host: "hooks.example.com", resolve: outside) == .allowed)
        #expect(await policy.checkResolving(host: "HOOKS.example.com.", resolve: metadata) != .allowed)
    }
}
