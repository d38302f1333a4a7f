import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `crm-bench send`: the sender against the simulator. Two phases, both straight onto
/// `wa.outbound.request` (the API is not what is measured):
/// 1. latency: requests offered open-loop at half the number's limit; each request's latency
///    is produce → the `sent` attempt committed (API-less send latency, no queueing);
/// 2. throughput: `limit × burst` requests offered at once; the governor must pace them to the
///    number's `messages_per_second`: achieved mps = sends / (last − first sent), and the
///    simulator (whose own limit is the same) must answer no 130429.
public struct SendBenchmark: Sendable {
    public struct Settings: Sendable {
        public var databaseURL: String
        public var kafkaBrokers: String
        public var topicPrefix: String
        public var phoneNumberId: String
        public var simulatorURL: String
        public var limit: Int
        public var burstSeconds: Int
        public var latencySeconds: Int
        public var pids: [String: Int32]

        public init(
            databaseURL: String, kafkaBrokers: String, topicPrefix: String, phoneNumberId: String,
            simulatorURL: String, limit: Int, burstSeconds: Int, latencySeconds: Int, pids: [String: Int32]
        ) {
            self.databaseURL = databaseURL
            self.kafkaBrokers = kafkaBrokers
            self.topicPrefix = topicPrefix
            self.phoneNumberId = phoneNumberId
            self.simulatorURL = simulatorURL
            self.limit = limit
            self.burstSeconds = burstSeconds
            self.latencySeconds = latencySeconds
            self.pids = pids
        }
    }

    let settings: Settings
    let run = String(UUID().uuidString.prefix(8)).lowercased()
    let logger = Logger(label: "crm-bench")

    public init(settings: Settings) { self.settings = settings }

    /// Configures the number (its limit, an unlimited tier) before the sender starts.
    public static func prepare(databaseURL: String, phoneNumberId: String, limit: Int) async throws {
        try await withPostgres(databaseURL) { client in
            _ = try await client.query(
                """
                INSERT INTO wa_phone_numbers (phone_number_id, display_phone_number, messages_per_second, messaging_tier)
                VALUES (\(phoneNumberId), 'bench', \(limit), 'UNLIMITED')
                ON CONFLICT (phone_number_id) DO UPDATE SET messages_per_second = EXCLUDED.messages_per_second,
                    messaging_tier = EXCLUDED.messaging_tier
                """)
        }
    }

    public func execute() async throws -> String {
        let producer = try KafkaProducer(
            properties: ["bootstrap.servers": settings.kafkaBrokers, "linger.ms": "5"], logger: logger)
        _ = try await HTTP.post("\(settings.simulatorURL)/_sim/stats/reset")

        // Phase 1: latency at half the limit.
        let latencyRate = max(1, settings.limit / 2)
        let latencyCount = latencyRate * settings.latencySeconds
        var producedAt: [String: Date] = [:]
        let clock = ContinuousClock()
        let t0 = clock.now
        // Open loop: each record is produced in its own task, on schedule, whatever the acks do.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<latencyCount {
                let due = t0 + .seconds(Double(i) / Double(latencyRate))
                if clock.now < due { try await Task.sleep(until: due, clock: clock) }
                let id = "bench-\(run)-l\(i)"
                let outgoing = try record(id, recipient: i)
                producedAt[id] = Date()
                group.addTask { try await producer.send(outgoing) }
            }
            try await group.waitForAll()
        }
        let latencies = try await waitSent(prefix: "bench-\(run)-l", count: latencyCount).compactMap { id, at in
            producedAt[id].map { at.timeIntervalSince($0) }
        }.sorted()

        // Phase 2: a burst of limit × burstSeconds at once.
        let burst = settings.limit * settings.burstSeconds
        var records: [OutgoingRecord] = []
        for i in 0..<burst { records.append(try record("bench-\(run)-b\(i)", recipient: latencyCount + i)) }
        let offered = Date()
        let meter = CPUMeter(pids: Array(settings.pids.values))
        for chunk in stride(from: 0, to: records.count, by: 5000) {
            try await producer.send(Array(records[chunk..<min(chunk + 5000, records.count)]))
        }
        let sentAt = try await waitSent(prefix: "bench-\(run)-b", count: burst).map(\.1).sorted()
        let cpu = meter.stop()
        let stats = try await HTTP.get("\(settings.simulatorURL)/_sim/stats")
        await producer.shutdown(timeout: .seconds(5))
        return report(latencies: latencies, burstSent: sentAt, offered: offered, stats: stats, cpu: cpu)
    }

    func record(_ id: String, recipient: Int) throws -> OutgoingRecord {
        let to = "5521" + String(format: "%09d", recipient)
        let request = OutboundRequest(
            requestId: id, to: to, phoneNumberId: settings.phoneNumberId, text: nil, requestedBy: "crm-bench",
            template: OutboundTemplate(name: "hello_world", language: "en_US", variables: [:]))
        let envelope = EventEnvelope(
            eventId: id, type: EventTypes.outboundRequest, occurredAt: .now, source: "crm-bench", payload: request)
        return OutgoingRecord(
            topic: settings.topicPrefix + Topics.outboundRequest, key: Array(to.utf8), value: try envelope.encoded())
    }

    /// Waits for `count` sent requests with this id prefix; returns (id, time of the sent attempt).
    func waitSent(prefix: String, count: Int) async throws -> [(String, Date)] {
        try await withPostgres(settings.databaseURL) { client in
            let pattern = prefix + "%"
            let deadline = ContinuousClock.now + .seconds(max(120, count / 50))
            var done = 0
            while ContinuousClock.now < deadline {
                for try await n in try await client.query(
                    "SELECT count(*)::int FROM send_requests WHERE request_id LIKE \(pattern) AND state IN ('sent', 'failed')"
                ).decode(Int.self) { done = n }
                if done >= count { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            var out: [(String, Date)] = []
            for try await (id, at) in try await client.query(
                """
                SELECT a.request_id, a.at FROM send_attempts a
                WHERE a.request_id LIKE \(pattern) AND a.decision = 'sent'
                """
            ).decode((String, Date).self) { out.append((id, at)) }
            return out
        }
    }

    func report(latencies: [Double], burstSent: [Date], offered: Date, stats: JSONValue?, cpu: CPUMeter.Usage) -> String
    {
        let burst = settings.limit * settings.burstSeconds
        let span = (burstSent.last?.timeIntervalSince(burstSent.first ?? offered)) ?? .nan
        let achieved = burstSent.count > 1 ? Double(burstSent.count - 1) / span : .nan
        let deviation = (achieved / Double(settings.limit) - 1) * 100
        let throttled = Int(stats?["rejected"]?["130429"]?.doubleValue ?? 0)
        var lines = [
            "send benchmark (run \(run)), number \(settings.phoneNumberId), configured limit \(settings.limit) mps",
            "  latency phase: \(latencies.count) sends offered at \(settings.limit / 2) mps;"
                + " produce → sent p50 \(BenchFigures.ms(BenchFigures.percentile(latencies, 0.5))) ms, p99 \(BenchFigures.ms(BenchFigures.percentile(latencies, 0.99))) ms",
            "  burst phase:   \(burstSent.count)/\(burst) sent; achieved \(BenchFigures.fmt(achieved)) mps"
                + " (\(BenchFigures.fmt(deviation)) % vs limit) over \(BenchFigures.fmt(span)) s",
            "  simulator:     \(Int(stats?["accepted"]?.doubleValue ?? 0)) accepted, \(throttled) × 130429,"
                + " \(Int(stats?["rejected_total"]?.doubleValue ?? 0)) rejected in total",
        ]
        lines.append("  burst phase, per process:")
        lines += BenchFigures.processLines(settings.pids, cpu: cpu)
        return lines.joined(separator: "\n")
    }
}

/// Runs `body` with a PostgreSQL client whose pool is running.
func withPostgres<T: Sendable>(_ url: String, _ body: @escaping @Sendable (PostgresClient) async throws -> T)
    async throws -> T
{
    let client = PostgresClient(configuration: try DatabaseURL.configuration(url))
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        group.addTask { try await body(client) }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let result { return result }
        }
        throw CancellationError()
    }
}

enum HTTP {
    static func get(_ url: String) async throws -> JSONValue? {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
    }

    @discardableResult
    static func post(_ url: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
