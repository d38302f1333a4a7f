import Foundation
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

/// A TCP port nobody listens on right now (bind to port 0, read what the kernel chose).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
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
