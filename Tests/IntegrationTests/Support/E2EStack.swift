import Foundation
import Logging
import NIOHTTP1
import PostgresNIO
import Storage
import Testing

/// The five services, the simulator, a fresh database and a topic namespace of their own,
/// on the real broker and PostgreSQL of `make test`.
final class E2EStack: @unchecked Sendable {
    static let appSecret = "e2e-app-secret"
    static let verifyToken = "e2e-verify-token"
    static let adminToken = "e2e-admin-token"
    static let wabaId = "100000000000001"
    static let phoneNumberId = "100000000000002"
    /// Seals account and webhook secrets at rest (the same for every service of a stack).
    static let secretKey = SecretBox.generateKey()
    /// Short group timeouts: the local broker joins groups slowly with librdkafka's defaults.
    static let kafkaProperties = "session.timeout.ms=6000,max.poll.interval.ms=7000,heartbeat.interval.ms=500"

    let env: TestEnvironment
    let id = String(UUID().uuidString.prefix(8)).lowercased()
    let logDir: URL
    let databaseURL: String
    let postgres: PostgresClient
    let database: TestDatabase
    let gatewayPort = freePort()
    let simulatorPort = freePort()
    var adminPorts: [String: Int] = [:]
    var processes: [String: ServiceProcess] = [:]
    /// Added to every service's environment (e.g. the sender's lease and timeouts).
    let settings: [String: String]
    let logger = Logger(label: "e2e")

    var topicPrefix: String { "e2e-\(id)." }
    var gatewayURL: String { "http://127.0.0.1:\(gatewayPort)" }

    /// `databaseServer` puts the stack's database on another server (a `PrivatePostgres`),
    /// `kafkaBrokers` its topics on another broker (a `PrivateBroker`).
    init(
        simulatorPostsStatuses: Bool, settings: [String: String] = [:], databaseServer: String? = nil,
        kafkaBrokers: String? = nil
    ) async throws {
        let shared = try TestEnvironment.require()
        env = TestEnvironment(
            kafkaBrokers: kafkaBrokers ?? shared.kafkaBrokers, databaseURL: databaseServer ?? shared.databaseURL,
            binDir: shared.binDir)
        self.settings = settings
        logDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-e2e-\(id)")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)

        database = try await TestDatabase(env: env, prefix: "e2e")
        databaseURL = database.url
        postgres = database.client

        try start(
            "wa-simulator", port: simulatorPort,
            extra: [
                "SIMULATOR_WEBHOOK_URL": simulatorPostsStatuses ? "\(gatewayURL)/webhooks/whatsapp" : "",
                "SIMULATOR_STATUS_DELAY_MS": "50",
            ])
        try start("gateway", port: gatewayPort)
        for name in ["normalizer", "crm-matcher", "sender", "reporter"] { try start(name) }
        try await waitReady()
    }

    func environment(for name: String) -> [String: String] {
        [
            "KAFKA_BROKERS": env.kafkaBrokers, "DATABASE_URL": databaseURL, "KAFKA_TOPIC_PREFIX": topicPrefix,
            "KAFKA_TOPIC_PARTITIONS": "2", "KAFKA_PROPERTIES": Self.kafkaProperties,
            "CRM_BOOTSTRAP_TOKEN": Self.adminToken, "WHATSAPP_WABA_ID": Self.wabaId,
            "WHATSAPP_PHONE_NUMBER_ID": Self.phoneNumberId, "WHATSAPP_ACCESS_TOKEN": "e2e-access-token",
            "WHATSAPP_APP_SECRET": Self.appSecret, "WHATSAPP_VERIFY_TOKEN": Self.verifyToken,
            "WHATSAPP_GRAPH_URL": "http://127.0.0.1:\(simulatorPort)", "WHATSAPP_GRAPH_VERSION": "v21.0",
            "LOG_LEVEL": "info", "CONSUMER_BATCH_SIZE": "100",
            // Outbound webhooks retry fast in tests (production: 5 s doubling).
            "OUTBOUND_WEBHOOK_BACKOFF_MS": "200", "OUTBOUND_WEBHOOK_TIMEOUT_MS": "2000", "LAG_PROBE_INTERVAL_MS": "500",
            // Campaigns publish in small chunks, so a test can pause one mid-way.
            "CAMPAIGN_CHUNK_SIZE": "2", "CAMPAIGN_ROLLOUT_INTERVAL_MS": "300",
            // Webhook receivers in the tests listen on 127.0.0.1 (as under `make run`).
            "OUTBOUND_WEBHOOK_ALLOW_LOOPBACK": "1",
            // The tests' short secrets (the gateway refuses them outside dev mode).
            "CRM_DEV_MODE": "1", "CRM_SECRET_KEY": Self.secretKey,
            // Every request of a test comes from 127.0.0.1, faster than a person would send.
            "API_RATE_LIMIT_PER_SECOND": "100000", "API_RATE_LIMIT_BURST": "100000",
        ].merging(settings) { _, new in new }
    }

    /// Starts (or restarts) a service; workers get an admin port of their own. `binary` starts
    /// another replica of a service under a name of its own (`sender-2`).
    func start(_ name: String, binary: String? = nil, port: Int? = nil, extra: [String: String] = [:]) throws {
        var vars = environment(for: name)
        if let port {
            vars["HTTP_PORT"] = String(port)
        } else {
            let admin = adminPorts[name] ?? freePort()
            adminPorts[name] = admin
            vars["ADMIN_PORT"] = String(admin)
        }
        for (k, v) in extra { vars[k] = v }
        processes[name] = try ServiceProcess(
            binDir: env.binDir, name: name, binary: binary, environment: vars, logDir: logDir)
    }

    /// SIGKILLs a service (a crash).
    func kill(_ name: String) { processes[name]?.kill() }

    func adminURL(_ name: String) -> String {
        name == "gateway" ? gatewayURL : "http://127.0.0.1:\(adminPorts[name]!)"
    }

    func waitReady(_ names: [String]? = nil) async throws {
        for name in names ?? ["gateway", "normalizer", "crm-matcher", "sender", "reporter"] {
            do {
                try await eventually("\(name) ready", timeout: .seconds(60)) {
                    try await HTTP.request(.GET, "\(self.adminURL(name))/readyz").status == 200
                }
            } catch {
                Issue.record("\(name) did not become ready; log:\n\(processes[name]?.logTail() ?? "")")
                throw error
            }
        }
        try await eventually("simulator up") {
            try await HTTP.request(.GET, "http://127.0.0.1:\(self.simulatorPort)/healthz").status == 200
        }
    }

    /// Posts a body signed like Meta (or with the given signature header), to this stack's
    /// gateway or to `gateway` (another replica's base URL).
    func postWebhook(
        _ body: [UInt8], signature: String? = nil, headers extra: [(String, String)] = [], gateway: String? = nil
    ) async throws -> HTTPResult {
        try await HTTP.request(
            .POST, "\(gateway ?? gatewayURL)/webhooks/whatsapp",
            headers: [
                ("Content-Type", "application/json"),
                ("X-Hub-Signature-256", signature ?? HTTP.signature(body, secret: Self.appSecret)),
            ] + extra, body: body)
    }

    /// Posts one inbound text from `from`; returns the HTTP status.
    func postInboundText(wamid: String, from: String, text: String, name: String = "Carla") async throws -> Int {
        try await postWebhook(
            Payloads.notification([Payloads.inboundText(wamid: wamid, from: from, name: name, text: text)])
        ).status
    }

    func api(
        _ method: NIOHTTP1.HTTPMethod, _ path: String, body: String? = nil, token: String = adminToken,
        headers: [(String, String)] = []
    ) async throws -> HTTPResult {
        try await HTTP.request(
            method, "\(gatewayURL)/api/v1\(path)", headers: [("Authorization", "Bearer \(token)")] + headers,
            body: body.map { Array($0.utf8) })
    }

    /// A new user with `role` and an API token of theirs (made with the bootstrap admin's token).
    func userToken(role: String, name: String) async throws -> String {
        let email = "\(name.lowercased().replacingOccurrences(of: " ", with: "."))-\(id)@example.com"
        let user = try await api(.POST, "/users", body: #"{"name":"\#(name)","email":"\#(email)","role":"\#(role)"}"#)
        let userId = try #require(user.json?["id"]?.stringValue, "user not created: \(user.body)")
        let token = try await api(.POST, "/tokens", body: #"{"user_id":"\#(userId)","name":"\#(name)"}"#)
        return try #require(token.json?["token"]?.stringValue, "token not created: \(token.body)")
    }

    func count(_ sql: String) async throws -> Int {
        let rows = try await postgres.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM (\(sql)) q"))
        for try await n in rows.decode(Int.self) { return n }
        return 0
    }

    func logs() -> String {
        processes.map { "---- \($0.key)\n\($0.value.logTail(25))" }.joined(separator: "\n")
    }

    func shutdown() async {
        for (_, p) in processes { await p.stop() }
        database.close()
    }
}

extension E2EStack {
    /// A stack for one test, always shut down afterwards (logs shown when the test fails).
    static func with(
        simulatorPostsStatuses: Bool = false, settings: [String: String] = [:], databaseServer: String? = nil,
        _ body: (E2EStack) async throws -> Void
    ) async throws {
        let stack = try await E2EStack(
            simulatorPostsStatuses: simulatorPostsStatuses, settings: settings, databaseServer: databaseServer)
        do {
            try await body(stack)
        } catch {
            Issue.record("service logs:\n\(stack.logs())")
            await stack.shutdown()
            throw error
        }
        await stack.shutdown()
    }
}
