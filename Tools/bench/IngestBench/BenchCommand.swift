import ArgumentParser
import Foundation

/// `crm-bench ingest` (`make bench-ingest`) and `crm-bench send` (`make bench-send`).
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "crm-bench", abstract: "Benchmarks against a running stack.",
        subcommands: [Ingest.self, Send.self])

    public init() {}

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Post signed webhooks at a fixed rate; print throughput, latencies and peak RSS.")
        @Option(help: "Gateway base URL.") var gateway = "http://127.0.0.1:8080"
        @Option(help: "App secret to sign with.") var secret = "dev-app-secret"
        @Option(help: "Webhooks per second (open loop).") var rate = 500
        @Option(help: "Seconds of load.") var duration = 60
        @Option(help: "Messages in each webhook body.") var messages = 10
        @Option(help: "Distinct customers (wa_ids) the messages come from.") var customers = 5000
        @Option(help: "PostgreSQL the pipeline writes to.") var databaseURL = "postgres://crm@127.0.0.1:54349/crm"
        @Option(help: "Seconds to wait for the pipeline to store everything after the load.") var drainTimeout = 120
        @Option(help: "Processes to report peak RSS for: name=pid,name=pid.") var pids = ""
        @Option(help: "Concurrent requests at most.") var maxInFlight = 64
        @Option(help: "Write each request's send time (s after the start), ack latency (ms) and status as CSV here.")
        var samplesFile: String?
        @Flag(help: "Count the statements sent to PostgreSQL (needs pg_stat_statements loaded).") var statements = false

        func run() async throws {
            let table = BenchCommand.processTable(pids)
            let bench = IngestBenchmark(
                settings: .init(
                    gatewayURL: gateway, appSecret: secret, rate: rate, duration: duration,
                    messagesPerWebhook: messages,
                    customers: customers, databaseURL: databaseURL, drainTimeout: drainTimeout, pids: table,
                    maxInFlight: maxInFlight, samplesFile: samplesFile, statements: statements))
            print(try await bench.execute())
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Offer sends to a running sender; print achieved mps against the limit, latencies, RSS.")
        @Option(help: "PostgreSQL of the stack.") var databaseURL = "postgres://crm@127.0.0.1:54349/crm"
        @Option(help: "Kafka bootstrap servers.") var kafkaBrokers = "127.0.0.1:19292"
        @Option(help: "Topic prefix of the stack.") var topicPrefix = ""
        @Option(help: "Business phone number id to send from.") var phoneNumberId = "100000000000002"
        @Option(help: "Simulator base URL (stats).") var simulator = "http://127.0.0.1:8090"
        @Option(help: "The number's messages_per_second.") var limit = 1000
        @Option(help: "Seconds' worth of sends offered at once (throughput phase).") var burst = 20
        @Option(help: "Seconds of the latency phase (at half the limit).") var latencySeconds = 5
        @Option(help: "Processes to report peak RSS for: name=pid,name=pid.") var pids = ""
        @Flag(help: "Only configure the number's limit and tier (run before starting the sender).") var prepare = false

        func run() async throws {
            if prepare {
                try await SendBenchmark.prepare(databaseURL: databaseURL, phoneNumberId: phoneNumberId, limit: limit)
                return
            }
            let table = BenchCommand.processTable(pids)
            let bench = SendBenchmark(
                settings: .init(
                    databaseURL: databaseURL, kafkaBrokers: kafkaBrokers, topicPrefix: topicPrefix,
                    phoneNumberId: phoneNumberId, simulatorURL: simulator, limit: limit, burstSeconds: burst,
                    latencySeconds: latencySeconds, pids: table))
            print(try await bench.execute())
        }
    }

    /// `--pids name=pid,name=pid` → name: pid; malformed pairs are skipped.
    static func processTable(_ option: String) -> [String: Int32] {
        var table: [String: Int32] = [:]
        for pair in option.split(separator: ",") {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let pid = Int32(kv[1]) { table[String(kv[0])] = pid }
        }
        return table
    }
}
