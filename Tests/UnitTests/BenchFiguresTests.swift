import Testing

@testable import IngestBench

/// The ingest benchmark reads the gateway's ack histogram from `/metrics`; its quantiles are
/// interpolated within a bucket as Prometheus' `histogram_quantile` does.
struct BenchFiguresTests {
    static let metrics = """
        # TYPE crm_webhook_ack_seconds histogram
        crm_webhook_ack_seconds_bucket{le="0.005"} 50
        crm_webhook_ack_seconds_bucket{le="0.01"} 80
        crm_webhook_ack_seconds_bucket{le="0.02"} 90
        crm_webhook_ack_seconds_bucket{le="0.05"} 100
        crm_webhook_ack_seconds_bucket{le="+Inf"} 100
        crm_webhook_ack_seconds_sum 0.9
        crm_webhook_ack_seconds_count 100
        crm_webhook_requests_total{outcome="accepted"} 100
        """

    @Test func readsTheBucketsAndInterpolatesQuantiles() throws {
        let h = GatewayAckHistogram.parse(Self.metrics)
        #expect(h.buckets.map(\.le) == [0.005, 0.01, 0.02, 0.05, .infinity])
        #expect(h.total == 100)
        #expect(h.share(within: 0.01) == 0.8)
        #expect(h.share(within: 0.03) == nil)
        // Rank 50 is the top of the first bucket; rank 99 is 9/10 into (0.02, 0.05].
        #expect(abs(try #require(h.quantile(0.5)) - 0.005) < 1e-12)
        #expect(abs(try #require(h.quantile(0.99)) - 0.047) < 1e-12)
        #expect(GatewayAckHistogram.parse("").quantile(0.5) == nil)
    }

    @Test func theWebhookTargetIsTakenApartOnceFromTheGatewayURL() {
        let plain = WebhookPoster.Target(gatewayURL: "http://127.0.0.1:18080")
        #expect(plain.host == "127.0.0.1")
        #expect(plain.port == 18080)
        #expect(plain.path == "/webhooks/whatsapp")
        let behindAPrefix = WebhookPoster.Target(gatewayURL: "http://crm.local/ingest/")
        #expect(behindAPrefix.port == 80)
        #expect(behindAPrefix.path == "/ingest/webhooks/whatsapp")
        let request = WebhookPoster.prepare(to: plain, body: Array("{}".utf8), signature: "sha256=ab")
        #expect(request.head.uri == "/webhooks/whatsapp")
        #expect(request.head.headers["Content-Length"] == ["2"])
        #expect(request.head.headers["X-Hub-Signature-256"] == ["sha256=ab"])
    }

    @Test func theProcessesToMeasureComeFromNameEqualsPidPairs() {
        #expect(BenchCommand.processTable("gateway=12,broker=7") == ["gateway": 12, "broker": 7])
        #expect(BenchCommand.processTable("gateway=12,broken,x=notapid,") == ["gateway": 12])
        #expect(BenchCommand.processTable("").isEmpty)
    }
}
