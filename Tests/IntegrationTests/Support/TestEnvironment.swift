import Foundation
import Synchronization
import Testing

/// What `make test` provides: the real broker, the real PostgreSQL and the built binaries.
/// Missing variables are a failure, not a skip: these tests must run in CI.
struct TestEnvironment {
    let kafkaBrokers: String
    let databaseURL: String
    let binDir: String

    static func require() throws -> TestEnvironment {
        let env = ProcessInfo.processInfo.environment
        func need(_ key: String) throws -> String {
            guard let v = env[key], !v.isEmpty else {
                Issue.record(
                    "\(key) is not set: run the tests through `make test`, which starts PostgreSQL and the broker")
                throw MissingEnvironment(key: key)
            }
            return v
        }
        return TestEnvironment(
            kafkaBrokers: try need("KAFKA_BROKERS"), databaseURL: try need("DATABASE_URL"),
            binDir: try need("CRM_BIN_DIR"))
    }

    /// The same server, another database (each suite gets an empty one).
    func databaseURL(named name: String) -> String {
        var c = URLComponents(string: databaseURL)!
        c.path = "/" + name
        return c.string!
    }
}

struct MissingEnvironment: Error {
    let key: String
}

/// A TCP port for a service a test starts, nobody listening on it now. Taken below the kernel's
/// ephemeral range: a port the kernel chose for `bind(0)` is back in that range once the probe
/// socket closes, and an outgoing connection (PostgreSQL, the broker, HTTP) could take it before
/// the service binds it (seen in CI as a worker's admin port "Address already in use"). A
/// counter keeps this process's picks distinct; a port that is busy is skipped.
func freePort() -> Int {
    let (low, _) = ephemeralPortRange()
    let first = max(1024, low - 10_000)
    while true {
        let port = first + (portCounter.wrappingAdd(1, ordering: .relaxed).newValue % (low - first))
        if canBind(port) { return port }
    }
}

private let portCounter = Atomic<Int>(Int(getpid() % 1000) * 7)

private func ephemeralPortRange() -> (Int, Int) {
    let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
    let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
    return parts.count == 2 && parts[0] > 11_024 ? (parts[0], parts[1]) : (32_768, 60_999)
}

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(
    _ what: String, timeout: Duration = .seconds(30), every: Duration = .milliseconds(200),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: every)
    }
    if try await condition() { return }
    throw TimedOut(what: what)
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for: \(what)" }
}
