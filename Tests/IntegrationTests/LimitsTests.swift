import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

/// Cheap to attack, cheap to defend: the API's statements have a time limit and the gateway
/// closes connections that sit idle.
@Suite(.timeLimit(.minutes(2)))
struct LimitsTests {
    @Test func theAPIPoolCancelsAStatementThatRunsPastItsLimit() async throws {
        let db = try await TestDatabase(env: try TestEnvironment.require())
        defer { db.close() }
        let client = PostgresClient(configuration: try DatabaseURL.configuration(db.url, statementTimeoutMs: 300))
        let task = Task { await client.run() }
        defer { task.cancel() }
        for try await setting in try await client.query("SHOW statement_timeout").decode(String.self) {
            #expect(setting == "300ms")
        }
        do {
            for try await _ in try await client.query("SELECT pg_sleep(2)") {}
            Issue.record("a 2 s statement ran past a 300 ms limit")
        } catch let error as PSQLError {
            #expect(error.serverInfo?[.sqlState] == "57014", "\(ErrorText.describe(error))")
        }
    }

    @Test func theGatewayClosesAnIdleConnection() async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "idle")
        defer { db.close() }
        let logDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "crm-idle-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let port = freePort()
        let gateway = try ServiceProcess(
            binDir: env.binDir, name: "gateway",
            environment: [
                "KAFKA_BROKERS": env.kafkaBrokers, "DATABASE_URL": db.url, "HTTP_PORT": String(port),
                "HTTP_IDLE_TIMEOUT_MS": "500", "KAFKA_TOPIC_PREFIX": "idle-\(UUID().uuidString.prefix(6)).",
                "KAFKA_TOPIC_PARTITIONS": "1",
            ], logDir: logDir)
        defer { Task { await gateway.stop() } }
        try await eventually("gateway up", timeout: .seconds(60)) {
            (try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/healthz").status) == 200
        }
        // A connection that never sends a byte is closed after the idle timeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = ContinuousClock.now
        var byte: UInt8 = 0
        let read = recv(fd, &byte, 1, 0)
        let waited = ContinuousClock.now - started
        #expect(read == 0, "the gateway closed the idle connection (recv returned \(read))")
        #expect(waited < .seconds(3), "closed after \(waited)")
    }
}
