import AsyncHTTPClient
import Foundation

/// The gateway's own ack latency (`crm_webhook_ack_seconds`, from the start of its handler to the
/// broker's acknowledgement), read from its `/metrics` after the load. Set beside the client's
/// figures, it tells the broker round trip apart from the time before the handler runs (the
/// socket, the HTTP server, scheduling).
struct GatewayAckHistogram {
    /// Cumulative counts per upper bound in seconds, ascending; the last bound is +Inf.
    var buckets: [(le: Double, count: Double)]

    var total: Double { buckets.last?.count ?? 0 }

    static func read(gatewayURL: String) async throws -> GatewayAckHistogram {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: gatewayURL + "/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        return parse(text)
    }

    /// Lines such as `crm_webhook_ack_seconds_bucket{le="0.005"} 123`.
    static func parse(_ text: String) -> GatewayAckHistogram {
        var buckets: [(Double, Double)] = []
        for line in text.split(separator: "\n") where line.hasPrefix("crm_webhook_ack_seconds_bucket{") {
            guard let open = line.range(of: "le=\""), let close = line[open.upperBound...].firstIndex(of: "\""),
                let count = Double(line.split(separator: " ").last ?? "")
            else { continue }
            let bound = String(line[open.upperBound..<close])
            buckets.append((bound == "+Inf" ? .infinity : Double(bound) ?? .nan, count))
        }
        return GatewayAckHistogram(buckets: buckets.filter { !$0.0.isNaN }.sorted { $0.0 < $1.0 })
    }

    /// Share of acks within `seconds` (a bucket bound), nil when no such bucket exists.
    func share(within seconds: Double) -> Double? {
        guard total > 0, let bucket = buckets.first(where: { abs($0.le - seconds) < 1e-9 }) else { return nil }
        return bucket.count / total
    }

    /// The quantile interpolated within its bucket, as Prometheus' `histogram_quantile` does.
    func quantile(_ q: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = q * total
        var lower = (le: 0.0, count: 0.0)
        for bucket in buckets {
            if bucket.count >= rank {
                guard bucket.le.isFinite else { return lower.le }
                let inBucket = bucket.count - lower.count
                return lower.le + (bucket.le - lower.le) * (inBucket > 0 ? (rank - lower.count) / inBucket : 0)
            }
            lower = bucket
        }
        return nil
    }

    var line: String {
        guard total > 0 else { return "  gateway's own histogram: no accepted webhooks recorded" }
        let p50 = quantile(0.5).map { BenchFigures.ms($0) } ?? "n/a"
        let p99 = quantile(0.99).map { BenchFigures.ms($0) } ?? "n/a"
        let shares = [0.005, 0.01, 0.02, 0.05].compactMap { bound in
            share(within: bound).map { "\(BenchFigures.fmt($0 * 100)) % ≤ \(BenchFigures.ms(bound)) ms" }
        }
        return "  gateway's own histogram (handler start → broker ack): p50 ~\(p50) ms, p99 ~\(p99) ms; "
            + shares.joined(separator: ", ")
    }
}
