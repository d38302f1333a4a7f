import Foundation
import GatewayService
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import PostgresNIO
import Prometheus
import ServiceKit
import Storage
import Testing
import WireModels

/// The gateway's router on a fresh database (real PostgreSQL, real broker), driven without a
/// socket. Every response body and every log line (at trace level) is kept, so tests can
/// check that secrets appear in neither.
final class APIHarness: @unchecked Sendable {
    let db: TestDatabase
    let config: ServiceConfig
    let router: Router<GatewayContext>
    let logs: LogCapture
    let box: SecretBox
    let adminToken = "admin-" + UUID().uuidString
    private let lock = NSLock()
    private var bodies: [String] = []

    struct Reply {
        let status: HTTPResponse.Status
        let json: JSONValue?
        var text: String
        var headers: HTTPFields = [:]
        subscript(_ key: String) -> JSONValue? { json?[key] }
        var items: [JSONValue] { json?["items"]?.arrayValue ?? [] }
        /// The fields named by a 400 validation error.
        var badFields: [String] {
            (json?["error"]?["fields"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        }
    }

    private init(
        db: TestDatabase, config: ServiceConfig, router: Router<GatewayContext>, logs: LogCapture, box: SecretBox
    ) {
        self.db = db
        self.config = config
        self.router = router
        self.logs = logs
        self.box = box
    }

    /// Builds the harness, then runs `body` with a client bound to the router.
    static func run(_ body: @Sendable (APIHarness, any TestClientProtocol) async throws -> Void) async throws {
        let env = try TestEnvironment.require()
        let db = try await TestDatabase(env: env, prefix: "api")
        defer { db.close() }
        let logs = LogCapture()
        var logger = Logger(label: "gateway-test", factory: { _ in logs })
        logger.logLevel = .trace
        let key = SecretBox.generateKey()
        let config = try ServiceConfig(
            service: "gateway", defaultAdminPort: 0,
            environment: [
                "KAFKA_BROKERS": env.kafkaBrokers, "DATABASE_URL": db.url, "CRM_SECRET_KEY": key,
                "KAFKA_TOPIC_PREFIX": "api\(UUID().uuidString.prefix(6).lowercased()).",
                "KAFKA_TOPIC_PARTITIONS": "1", "MESSAGE_EXPORT_MAX_ROWS": "600",
            ])
        try await MigrationRunner().run(on: db.client, logger: logger)
        try await StartupTasks.createTopics(config: config, logger: logger)
        let producer = try KafkaProducer(config.producerConfig(), logger: logger)
        let box = try SecretBox(base64Key: key)
        let router = GatewayApp.buildRouter(
            config: config, postgres: db.client, producer: producer, registry: PrometheusCollectorRegistry(),
            readiness: Readiness([]), secrets: box,
            // Every test request comes from one address, faster than any client would send.
            limits: try RateLimits(
                environment: ServiceKit.Environment(values: [
                    "API_RATE_LIMIT_PER_SECOND": "100000", "API_RATE_LIMIT_BURST": "100000",
                ])),
            logger: logger)
        let harness = APIHarness(db: db, config: config, router: router, logs: logs, box: box)
        try await TokenStore.ensureBootstrapAdmin(token: harness.adminToken, on: db.client, logger: logger)
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in try await body(harness, client) }
        await producer.shutdown(timeout: .seconds(5))
    }

    /// One request; the body is any JSON (or raw text with `raw`).
    @discardableResult
    func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, token: String?,
        body: JSONValue? = nil, raw: String? = nil
    ) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var payload: ByteBuffer?
        if let raw {
            payload = ByteBuffer(string: raw)
        } else if let body {
            payload = ByteBuffer(bytes: try JSONCoding.encoder().encode(body))
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: payload)
        let text = String(buffer: response.body)
        lock.withLock { bodies.append(text) }
        let json = text.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        return Reply(status: response.status, json: json, text: text, headers: response.headers)
    }

    var allResponseBodies: [String] { lock.withLock { bodies } }

    /// Creates a user (as the admin) and a token for them; returns (user id, token).
    func user(_ client: any TestClientProtocol, role: String, name: String) async throws -> (UUID, String) {
        let created = try await call(
            client, .post, "/api/v1/users", token: adminToken,
            body: [
                "name": .string(name),
                "email": .string("\(name.lowercased())-\(UUID().uuidString.prefix(6))@example.com"),
                "role": .string(role),
            ])
        #expect(created.status == .created, "\(created.text)")
        let id = try #require(created["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
        let token = try await call(
            client, .post, "/api/v1/tokens", token: adminToken,
            body: ["user_id": .string(id.uuidString), "name": "test"])
        #expect(token.status == .created, "\(token.text)")
        return (id, try #require(token["token"]?.stringValue))
    }
}

/// A log handler that keeps every rendered line (message + metadata).
final class LogCapture: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = "\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.joined(separator: " "))"
        lock.withLock { storage.append(line) }
    }

    var lines: [String] { lock.withLock { storage } }
}
