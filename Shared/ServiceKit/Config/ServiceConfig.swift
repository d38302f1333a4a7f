import Foundation
import Logging
import Storage
import WireModels

/// Everything a service reads from its environment, read once at start (names and defaults: docs/CONFIGURATION.md).
public struct ServiceConfig: Sendable, CustomStringConvertible {
    public var service: String
    public var kafkaBrokers: String
    public var databaseURL: String
    public var httpPort: Int
    public var adminPort: Int
    public var logLevel: Logger.Level
    public var topics: Topics
    /// Partitions per topic when this process creates topics; a worker group scales up to this.
    public var topicPartitions: Int32
    public var topicReplication: Int16
    /// Extra librdkafka properties (`k=v,k=v`), e.g. short group timeouts for the local broker.
    public var kafkaProperties: [String: String]
    public var consumerBatchSize: Int
    /// Milliseconds a poll keeps collecting records after the first one: each batch costs a
    /// transaction and a commit, so a steady trickle is cheaper in fewer, larger batches.
    public var consumerBatchLingerMs: Int
    /// Partitions of one poll handled at once (`ConsumerLoop`).
    public var consumerConcurrency: Int
    public var whatsapp: WhatsAppConfig
    public var bootstrapToken: String?
    /// `CRM_CONFIG_FILE`: YAML with accounts, numbers, test recipients, users (ConfigFile).
    public var configFile: String?
    /// `CRM_SECRET_KEY`: 32 bytes, base64; encrypts account secrets at rest. Never logged.
    public var secretKey: String?
    /// `CRM_SECRET_KEY_PREVIOUS`: earlier keys (comma-separated), still opening what they sealed
    /// until `crmctl secrets rotate` re-seals it under `CRM_SECRET_KEY`. Never logged.
    public var previousSecretKeys: [String]
    public var webhookMaxBodyBytes: Int
    public var webhookAckTimeoutMs: Int
    /// Gateway: `API_STATEMENT_TIMEOUT_MS` (15 s), the longest statement of the API's pool.
    public var apiStatementTimeoutMs: Int
    /// Gateway: `HTTP_IDLE_TIMEOUT_MS` (60 s), after which an idle connection is closed.
    public var httpIdleTimeoutMs: Int
    /// Gateway: `MESSAGE_EXPORT_MAX_ROWS` (100,000), the most messages one CSV export reads.
    public var messageExportMaxRows: Int
    /// Where outbound webhooks may go (`OUTBOUND_WEBHOOK_ALLOW_LOOPBACK`, `OUTBOUND_WEBHOOK_ALLOW`).
    public var outboundDestinations: DestinationPolicy
    /// Test hook: SIGKILL the process after the first batch's database commit and before its
    /// offsets are stored, to prove redelivery after a crash creates no duplicates.
    public var faultCrashAfterCommit: Bool

    public init(
        service: String, defaultAdminPort: Int, defaultHTTPPort: Int = 8080,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let env = Environment(values: environment)
        self.service = service
        kafkaBrokers = env["KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        databaseURL = env["DATABASE_URL"] ?? "postgres://crm@127.0.0.1:5432/crm"
        httpPort = try env.int("HTTP_PORT", default: defaultHTTPPort)
        adminPort = try env.int("ADMIN_PORT", default: defaultAdminPort)
        logLevel = Logger.Level(rawValue: (env["LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        topics = Topics(prefix: env["KAFKA_TOPIC_PREFIX"] ?? "")
        topicPartitions = Int32(try env.int("KAFKA_TOPIC_PARTITIONS", default: 6))
        topicReplication = Int16(try env.int("KAFKA_TOPIC_REPLICATION", default: 1))
        kafkaProperties = try Self.parseProperties(env["KAFKA_PROPERTIES"] ?? "")
        consumerBatchSize = try env.int("CONSUMER_BATCH_SIZE", default: 500)
        consumerBatchLingerMs = try env.int("CONSUMER_BATCH_LINGER_MS", default: 0)
        consumerConcurrency = try env.int("CONSUMER_CONCURRENCY", default: 4)
        whatsapp = WhatsAppConfig(env: env)
        bootstrapToken = env["CRM_BOOTSTRAP_TOKEN"]
        configFile = env["CRM_CONFIG_FILE"]
        secretKey = env["CRM_SECRET_KEY"]
        previousSecretKeys = env.list("CRM_SECRET_KEY_PREVIOUS")
        webhookMaxBodyBytes = try env.int("WEBHOOK_MAX_BODY_BYTES", default: 1 << 20)
        webhookAckTimeoutMs = try env.int("WEBHOOK_ACK_TIMEOUT_MS", default: 5000)
        faultCrashAfterCommit = env["CRM_FAULT_CRASH_AFTER_COMMIT"] == "1"
        outboundDestinations = try DestinationPolicy(environment: env)
        apiStatementTimeoutMs = try env.int("API_STATEMENT_TIMEOUT_MS", default: 15_000)
        httpIdleTimeoutMs = try env.int("HTTP_IDLE_TIMEOUT_MS", default: 60_000)
        messageExportMaxRows = try env.int("MESSAGE_EXPORT_MAX_ROWS", default: 100_000)
        guard apiStatementTimeoutMs >= 100, httpIdleTimeoutMs >= 100, messageExportMaxRows >= 1 else {
            throw ConfigError(
                "API_STATEMENT_TIMEOUT_MS and HTTP_IDLE_TIMEOUT_MS must be at least 100, MESSAGE_EXPORT_MAX_ROWS at least 1"
            )
        }
    }

    /// Safe to log: no secrets (the bootstrap token and WhatsApp secrets are left out).
    public var description: String {
        "ServiceConfig(\(service), kafka: \(kafkaBrokers), topic prefix: '\(topics.prefix)', partitions: \(topicPartitions), "
            + "http: \(httpPort), admin: \(adminPort), \(whatsapp))"
    }

    /// The secret box for account secrets, nil without `CRM_SECRET_KEY`; a malformed key is a
    /// start-up error (that names the variable, never its value).
    public func secretBox() throws -> SecretBox? {
        guard let secretKey else { return nil }
        do {
            return try SecretBox(base64Key: secretKey, previous: previousSecretKeys)
        } catch {
            throw ConfigError("\(error)")
        }
    }

    static func parseProperties(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: ",") where !pair.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ConfigError("KAFKA_PROPERTIES entry '\(pair)' is not key=value") }
            out[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// How long a graceful shutdown may take before the group cancels what is left; below the
    /// usual 30 s termination grace period of a pod.
    public static let shutdownBudget: Duration = .seconds(20)

    /// Consumer group of a stage; the topic prefix namespaces groups too.
    public func consumerGroup(_ stage: String) -> String { topics.prefix + "crm." + stage }
}

/// The single WhatsApp account configurable by environment alone. Secrets are kept out of
/// `description` so that printing a config can never leak them.
public struct WhatsAppConfig: Sendable, CustomStringConvertible {
    public var wabaId: String?
    public var phoneNumberId: String?
    public var accessToken: String?
    /// Several apps may post to one endpoint: WHATSAPP_APP_SECRET may list secrets separated by commas.
    public var appSecrets: [String]
    public var verifyTokens: [String]
    public var graphURL: String
    public var graphVersion: String

    init(env: Environment) {
        wabaId = env["WHATSAPP_WABA_ID"]
        phoneNumberId = env["WHATSAPP_PHONE_NUMBER_ID"]
        accessToken = env["WHATSAPP_ACCESS_TOKEN"]
        appSecrets = env.list("WHATSAPP_APP_SECRET")
        verifyTokens = env.list("WHATSAPP_VERIFY_TOKEN")
        graphURL = env["WHATSAPP_GRAPH_URL"] ?? "https://graph.facebook.com"
        graphVersion = env["WHATSAPP_GRAPH_VERSION"] ?? "v21.0"
    }

    public var description: String {
        "WhatsAppConfig(waba: \(wabaId ?? "-"), phone_number_id: \(phoneNumberId ?? "-"), graph: \(graphURL)/\(graphVersion), "
            + "app secrets: \(appSecrets.count), verify tokens: \(verifyTokens.count), access token: \(accessToken == nil ? "unset" : "set"))"
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Typed access to environment variables (blank counts as unset).
public struct Environment: Sendable {
    let values: [String: String]

    public init(values: [String: String] = ProcessInfo.processInfo.environment) { self.values = values }

    public subscript(_ key: String) -> String? {
        guard let v = values[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    public func int(_ key: String, default value: Int) throws -> Int {
        guard let raw = self[key] else { return value }
        guard let n = Int(raw) else { throw ConfigError("\(key) must be a whole number, got '\(raw)'") }
        return n
    }

    public func list(_ key: String) -> [String] {
        (self[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
