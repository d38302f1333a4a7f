import Foundation
import Logging
import PostgresNIO
import ServiceKit
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

    /// A gateway of its own on `db` and the shared broker, ready; returns it and its port.
    static func gateway(on db: TestDatabase, _ extra: [String: String]) async throws -> (ServiceProcess, Int) {
        let env = try TestEnvironment.require()
        let logDir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "crm-gateway-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        let port = freePort()
        let gateway = try ServiceProcess(
            binDir: env.binDir, name: "gateway",
            environment: [
                "KAFKA_BROKERS": env.kafkaBrokers, "DATABASE_URL": db.url, "HTTP_PORT": String(port),
                "KAFKA_TOPIC_PREFIX": "gw-\(UUID().uuidString.prefix(6)).", "KAFKA_TOPIC_PARTITIONS": "1",
            ].merging(extra) { _, new in new }, logDir: logDir)
        try await eventually("gateway ready", timeout: .seconds(60)) {
            (try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/readyz").status) == 200
        }
        return (gateway, port)
    }

    @Test func theGatewayClosesAnIdleConnection() async throws {
        let db = try await TestDatabase(env: try TestEnvironment.require(), prefix: "idle")
        defer { db.close() }
        let (gateway, port) = try await Self.gateway(on: db, ["HTTP_IDLE_TIMEOUT_MS": "500"])
        defer { Task { await gateway.stop() } }
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

/// Per-source limits on the running gateway: API requests, and webhook posts with a bad
/// signature, while a valid signature from the same address always passes.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RateLimitTests {
    @Test func aFloodFromOneAddressGets429AndMetasSignedPostsAreNeverLimited() async throws {
        let db = try await TestDatabase(env: try TestEnvironment.require(), prefix: "limits")
        defer { db.close() }
        let token = "limits-admin-token-0123456789abcdef"
        let (gateway, port) = try await LimitsTests.gateway(
            on: db,
            [
                "CRM_BOOTSTRAP_TOKEN": token, "WHATSAPP_APP_SECRET": E2EStack.appSecret, "CRM_DEV_MODE": "1",
                "API_RATE_LIMIT_PER_SECOND": "1", "API_RATE_LIMIT_BURST": "5", "WEBHOOK_BAD_SIGNATURES_PER_MINUTE": "3",
            ])
        defer { Task { await gateway.stop() } }
        let url = "http://127.0.0.1:\(port)"
        // The API: a burst of 5 at once, then 1/s; 12 requests at once get 429s past that (how
        // many depends on how long the burst took on this machine, which the check allows for).
        let started = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await HTTP.request(
                        .GET, "\(url)/api/v1/tokens", headers: [("Authorization", "Bearer \(token)")]
                    ).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let ok = statuses.filter { $0 == 200 }.count
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 }, "\(statuses)")
        #expect(ok >= 5 && ok <= 5 + Int(elapsed) + 1, "\(ok) allowed in \(elapsed) s: \(statuses)")
        if elapsed < 5 { #expect(statuses.contains(429), "\(statuses)") }
        // Webhooks: bad signatures get 401 three times, then 429; a signed post is still taken.
        let body = Payloads.notification([
            Payloads.inboundText(wamid: Payloads.newWamid(), from: "5511900000200", name: "Eva", text: "oi")
        ])
        var bad: [Int] = []
        for _ in 0..<5 {
            bad.append(
                try await HTTP.request(
                    .POST, "\(url)/webhooks/whatsapp",
                    headers: [("X-Hub-Signature-256", "sha256=" + String(repeating: "0", count: 64))],
                    body: body
                ).status)
        }
        #expect(bad == [401, 401, 401, 429, 429], "\(bad)")
        let signed = try await HTTP.request(
            .POST, "\(url)/webhooks/whatsapp",
            headers: [("X-Hub-Signature-256", HTTP.signature(body, secret: E2EStack.appSecret))], body: body)
        #expect(signed.status == 200, "Meta is never limited: \(signed.body)")
    }
}
