import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// Posts signed webhooks at a fixed rate (open loop) from this separate process, then waits
/// until every message is stored by the pipeline and reports throughput and latencies.
public struct IngestBenchmark: Sendable {
    public struct Settings: Sendable {
        public var gatewayURL: String
        public var appSecret: String
        public var rate: Int
        public var duration: Int
        public var messagesPerWebhook: Int
        public var customers: Int
        public var databaseURL: String
        public var drainTimeout: Int
        public var pids: [String: Int32]
        public var maxInFlight: Int

        public init(
            gatewayURL: String, appSecret: String, rate: Int, duration: Int, messagesPerWebhook: Int, customers: Int,
            databaseURL: String, drainTimeout: Int, pids: [String: Int32], maxInFlight: Int
        ) {
            self.gatewayURL = gatewayURL
            self.appSecret = appSecret
            self.rate = rate
            self.duration = duration
            self.messagesPerWebhook = messagesPerWebhook
            self.customers = customers
            self.databaseURL = databaseURL
            self.drainTimeout = drainTimeout
            self.pids = pids
            self.maxInFlight = maxInFlight
        }
    }

    struct Sample: Sendable {
        var index: Int
        var sentAt: Date
        var ack: Duration
        var status: Int
    }

    let settings: Settings
    let run = String(UUID().uuidString.prefix(8))

    public init(settings: Settings) { self.settings = settings }

    public func execute() async throws -> String {
        var httpConfig = HTTPClient.Configuration()
        httpConfig.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = settings.maxInFlight
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfig)
        let total = settings.rate * settings.duration
        let started = Date()
        let clock = ContinuousClock()
        let t0 = clock.now
        var samples: [Sample] = []
        samples.reserveCapacity(total)
        var behind = 0
        let meter = CPUMeter(pids: Array(settings.pids.values))

        try await withThrowingTaskGroup(of: Sample.self) { group in
            var inFlight = 0
            for i in 0..<total {
                let due = t0 + .seconds(Double(i) / Double(settings.rate))
                if clock.now < due {
                    try await Task.sleep(until: due, clock: clock)
                } else if clock.now - due > .milliseconds(50) {
                    behind += 1
                }
                if inFlight >= settings.maxInFlight {
                    if let s = try await group.next() { samples.append(s) }
                    inFlight -= 1
                }
                let body = self.body(i)
                group.addTask { try await self.post(body, index: i, http: http) }
                inFlight += 1
            }
            for try await s in group { samples.append(s) }
        }
        let sendSeconds = (clock.now - t0).seconds
        try await http.shutdown()

        // --drain-timeout 0: measure the gateway alone (no pipeline is running to drain).
        let (stored, drained, lastStored, e2e) =
            settings.drainTimeout > 0
            ? try await drain(expected: total * settings.messagesPerWebhook, samples) : (0, false, nil, [])
        let cpu = meter.stop()
        return report(
            samples: samples, sendSeconds: sendSeconds, behind: behind, started: started, stored: stored,
            drained: drained, lastStored: lastStored, e2e: e2e, cpu: cpu)
    }

    func body(_ i: Int) -> [UInt8] {
        let customer = "55119" + String(format: "%08d", i % settings.customers)
        let ts = String(Int(Date().timeIntervalSince1970))
        var messages: [String] = []
        for k in 0..<settings.messagesPerWebhook {
            messages.append(
                #"{"from":"\#(customer)","id":"wamid.BENCH\#(run).\#(i).\#(k)","timestamp":"\#(ts)","type":"text","text":{"body":"bench message \#(i) \#(k)"}}"#
            )
        }
        let json =
            #"{"object":"whatsapp_business_account","entry":[{"id":"100000000000001","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"100000000000002"},"contacts":[{"profile":{"name":"Bench \#(i % settings.customers)"},"wa_id":"\#(customer)"}],"messages":[\#(messages.joined(separator: ","))]}}]}]}"#
        return Array(json.utf8)
    }

    func post(_ body: [UInt8], index: Int, http: HTTPClient) async throws -> Sample {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(settings.appSecret.utf8)))
        var request = HTTPClientRequest(url: settings.gatewayURL + "/webhooks/whatsapp")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Hub-Signature-256", value: "sha256=" + Array(mac).hexString)
        request.body = .bytes(ByteBuffer(bytes: body))
        let sentAt = Date()
        let start = ContinuousClock.now
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 16)
            return Sample(
                index: index, sentAt: sentAt, ack: ContinuousClock.now - start, status: Int(response.status.code))
        } catch {
            return Sample(index: index, sentAt: sentAt, ack: ContinuousClock.now - start, status: 0)
        }
    }

    /// Waits until every message of this run is in `messages`, then reads when each was stored.
    func drain(expected: Int, _ samples: [Sample]) async throws -> (Int, Bool, Date?, [Double]) {
        let client = PostgresClient(configuration: try DatabaseURL.configuration(settings.databaseURL))
        return try await withThrowingTaskGroup(of: (Int, Bool, Date?, [Double])?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask {
                let prefix = "wamid.BENCH\(run).%"
                let deadline = ContinuousClock.now + .seconds(settings.drainTimeout)
                var stored = 0
                while ContinuousClock.now < deadline {
                    for try await n in try await client.query(
                        "SELECT count(*)::int FROM messages WHERE wamid LIKE \(prefix)"
                    ).decode(Int.self) { stored = n }
                    if stored >= expected { break }
                    try await Task.sleep(for: .milliseconds(250))
                }
                var sentAt: [Int: Date] = [:]
                for s in samples { sentAt[s.index] = s.sentAt }
                var latencies: [Double] = []
                var last: Date?
                for try await (wamid, created) in try await client.query(
                    "SELECT wamid, created_at FROM messages WHERE wamid LIKE \(prefix)"
                ).decode((String, Date).self) {
                    let parts = wamid.split(separator: ".")
                    if parts.count >= 3, let i = Int(parts[2]), let sent = sentAt[i] {
                        latencies.append(created.timeIntervalSince(sent))
                    }
                    if last == nil || created > last! { last = created }
                }
                return (stored, stored >= expected, last, latencies.sorted())
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }

    func report(
        samples: [Sample], sendSeconds: Double, behind: Int, started: Date, stored: Int, drained: Bool,
        lastStored: Date?, e2e: [Double], cpu: CPUMeter.Usage
    ) -> String {
        let acks = samples.filter { $0.status == 200 }.map { $0.ack.seconds }.sorted()
        let failed = samples.count - acks.count
        let events = settings.rate * settings.duration * settings.messagesPerWebhook
        let e2eSeconds = lastStored.map { $0.timeIntervalSince(started) } ?? .nan
        let pipeline = settings.drainTimeout > 0
        var lines = [
            "ingest benchmark (run \(run))",
            "  offered:      \(settings.rate) webhooks/s × \(settings.messagesPerWebhook) messages for \(settings.duration) s"
                + " = \(events) events; \(settings.customers) customers",
            "  sent:         \(samples.count) webhooks in \(BenchFigures.fmt(sendSeconds)) s (\(BenchFigures.fmt(Double(samples.count) / sendSeconds)) req/s)"
                + (behind > 0 ? "; client fell >50 ms behind schedule \(behind)×" : ""),
            "  acknowledged: \(acks.count) × 200, \(failed) other",
            "  gateway ack:  p50 \(BenchFigures.ms(BenchFigures.percentile(acks, 0.50))) ms, p99 \(BenchFigures.ms(BenchFigures.percentile(acks, 0.99))) ms, p999 \(BenchFigures.ms(BenchFigures.percentile(acks, 0.999))) ms, max \(BenchFigures.ms(acks.last ?? .nan)) ms",
        ]
        if pipeline {
            lines += [
                "  stored:       \(stored)/\(events) messages\(drained ? "" : " (NOT all stored before the drain timeout)")",
                "  end-to-end:   \(BenchFigures.fmt(Double(stored) / e2eSeconds)) events/s sustained (first POST → last row, \(BenchFigures.fmt(e2eSeconds)) s)",
                "  e2e latency:  p50 \(BenchFigures.ms(BenchFigures.percentile(e2e, 0.50))) ms, p99 \(BenchFigures.ms(BenchFigures.percentile(e2e, 0.99))) ms (POST sent → message row committed)",
            ]
        } else {
            lines.append("  pipeline:     not running (gateway alone: acks only)")
        }
        lines.append("  load phase (until drained), per process:")
        lines += BenchFigures.processLines(settings.pids, cpu: cpu)
        return lines.joined(separator: "\n")
    }
}
