import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
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
        public var samplesFile: String?
        /// Count the statements sent to PostgreSQL (`pg_stat_statements` must be loaded).
        public var statements: Bool

        public init(
            gatewayURL: String, appSecret: String, rate: Int, duration: Int, messagesPerWebhook: Int, customers: Int,
            databaseURL: String, drainTimeout: Int, pids: [String: Int32], maxInFlight: Int,
            samplesFile: String? = nil, statements: Bool = false
        ) {
            self.statements = statements
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
            self.samplesFile = samplesFile
        }
    }

    typealias Sample = WebhookPoster.Sample

    let settings: Settings
    let run = String(UUID().uuidString.prefix(8))

    public init(settings: Settings) { self.settings = settings }

    public func execute() async throws -> String {
        let total = settings.rate * settings.duration
        // Bodies are built and signed before the clock starts: the load generator shares the two
        // cores with what it measures, so it should spend them on sending only.
        let target = WebhookPoster.Target(gatewayURL: settings.gatewayURL)
        let requests = (0..<total).map { prepare($0, to: target) }
        let poster = try await WebhookPoster(
            host: target.host, port: target.port, connections: settings.maxInFlight,
            group: MultiThreadedEventLoopGroup.singleton)
        var free = poster.freeConnections()
        let started = Date()
        let clock = ContinuousClock()
        let t0 = clock.now
        var behind = 0
        let counter = settings.statements ? StatementCounter(databaseURL: settings.databaseURL) : nil
        try await counter?.reset()
        let postgres = CPUMeter.processes(named: "postgres")
        let meter = CPUMeter(pids: Array(settings.pids.values) + postgres + [getpid()])

        for i in 0..<total {
            let due = t0 + .seconds(Double(i) / Double(settings.rate))
            if clock.now < due {
                try await Task.sleep(until: due, clock: clock)
            } else if clock.now - due > .milliseconds(50) {
                behind += 1
            }
            await poster.post(requests[i], index: i, free: &free)
        }
        let samples = await poster.finish(expected: total)
        let sendSeconds = (clock.now - t0).seconds
        let gatewayView = try? await GatewayAckHistogram.read(gatewayURL: settings.gatewayURL)
        if let path = settings.samplesFile {
            var csv = "sent_s,ack_ms,status\n"
            for s in samples.sorted(by: { $0.index < $1.index }) {
                csv += "\(s.sentAt.timeIntervalSince(started)),\(s.ack.seconds * 1000),\(s.status)\n"
            }
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
        }

        // --drain-timeout 0: measure the gateway alone (no pipeline is running to drain).
        let (stored, drained, lastStored, e2e) =
            settings.drainTimeout > 0
            ? try await drain(expected: total * settings.messagesPerWebhook, samples) : (0, false, nil, [])
        let cpu = meter.stop()
        let statements = try await counter?.read()
        return report(
            samples: samples, sendSeconds: sendSeconds, behind: behind, started: started, stored: stored,
            drained: drained, lastStored: lastStored, e2e: e2e, cpu: cpu, postgres: postgres,
            gatewayView: gatewayView)
            + (statements.map { "\n" + StatementCounter.lines($0, events: stored).joined(separator: "\n") } ?? "")
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

    /// One signed webhook request, ready to send.
    func prepare(_ i: Int, to target: WebhookPoster.Target) -> WebhookPoster.Prepared {
        let body = self.body(i)
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(settings.appSecret.utf8)))
        return WebhookPoster.prepare(to: target, body: body, signature: "sha256=" + Array(mac).hexString)
    }

    /// Waits until every message of this run is in `messages`, then reads when each was stored.
    func drain(expected: Int, _ samples: [Sample]) async throws -> (Int, Bool, Date?, [Double]) {
        let (run, settings) = (run, settings)
        return try await withPostgres(settings.databaseURL) { client in
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
    }

    /// The ack p99 of each 5-second window of the load (by send time): where the tail sits.
    func windowP99(_ samples: [Sample], started: Date) -> [Double] {
        var windows: [[Double]] = []
        for s in samples where s.status == 200 {
            let w = max(0, Int(s.sentAt.timeIntervalSince(started) / 5))
            while windows.count <= w { windows.append([]) }
            windows[w].append(s.ack.seconds)
        }
        return windows.map { BenchFigures.percentile($0.sorted(), 0.99) }
    }

    func report(
        samples: [Sample], sendSeconds: Double, behind: Int, started: Date, stored: Int, drained: Bool,
        lastStored: Date?, e2e: [Double], cpu: CPUMeter.Usage, postgres: [Int32],
        gatewayView: GatewayAckHistogram? = nil
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
            "  ack p99 by 5 s of load: "
                + windowP99(samples, started: started).map { BenchFigures.ms($0) }.joined(separator: ", ")
                + " ms",
            gatewayView?.line ?? "  gateway's own histogram: could not read \(settings.gatewayURL)/metrics",
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
        lines += BenchFigures.processLines(
            settings.pids, cpu: cpu, postgres: postgres, events: pipeline ? stored : nil,
            pipeline: ["gateway", "normalizer", "crm-matcher", "broker"])
        return lines.joined(separator: "\n")
    }
}
