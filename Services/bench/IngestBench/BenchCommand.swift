import ArgumentParser
import Foundation

/// `crm-bench ingest`: see `make bench-ingest`.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "crm-bench", abstract: "Benchmarks against a running stack.", subcommands: [Ingest.self])

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

        func run() async throws {
            var table: [String: Int32] = [:]
            for pair in pids.split(separator: ",") {
                let kv = pair.split(separator: "=")
                if kv.count == 2, let pid = Int32(kv[1]) { table[String(kv[0])] = pid }
            }
            let bench = IngestBenchmark(
                settings: .init(
                    gatewayURL: gateway, appSecret: secret, rate: rate, duration: duration,
                    messagesPerWebhook: messages,
                    customers: customers, databaseURL: databaseURL, drainTimeout: drainTimeout, pids: table,
                    maxInFlight: maxInFlight))
            print(try await bench.execute())
        }
    }
}
