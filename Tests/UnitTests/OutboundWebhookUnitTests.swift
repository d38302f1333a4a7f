import Foundation
import Testing
import WireModels

@testable import GatewayService
@testable import MatcherService
@testable import ServiceKit

@Suite struct OutboundWebhookUnitTests {
    @Test func signatureIsHMACSHA256OfTheBodyAndVerifiesInConstantTime() {
        let body = Array(#"{"event_id":"lead.opened:1:1"}"#.utf8)
        let header = CRMWebhookSignature.sign(body, secret: "s3cret-s3cret-s3cret")
        #expect(header.hasPrefix("sha256=") && header.count == 7 + 64)
        #expect(CRMWebhookSignature.isValid(header, body: body, secret: "s3cret-s3cret-s3cret"))
        #expect(!CRMWebhookSignature.isValid(header, body: body, secret: "other-secret-value"))
        #expect(!CRMWebhookSignature.isValid(header, body: body + [32], secret: "s3cret-s3cret-s3cret"))
        #expect(!CRMWebhookSignature.isValid("sha256=zz", body: body, secret: "s3cret-s3cret-s3cret"))
        // Known vector (RFC 4231 style check with a fixed key and message).
        #expect(
            CRMWebhookSignature.sign(Array("The quick brown fox jumps over the lazy dog".utf8), secret: "key")
                == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func backoffDoublesWithJitterHonoursRetryAfterAndStops() throws {
        let settings = try WebhookDeliverySettings(
            environment: Environment(values: [
                "OUTBOUND_WEBHOOK_MAX_ATTEMPTS": "4", "OUTBOUND_WEBHOOK_BACKOFF_MS": "1000",
                "OUTBOUND_WEBHOOK_MAX_BACKOFF_MS": "3000",
            ]))
        for _ in 0..<50 {
            let first = try #require(settings.delay(afterAttempt: 1))
            #expect(first >= .milliseconds(500) && first <= .milliseconds(1000))
            let second = try #require(settings.delay(afterAttempt: 2))
            #expect(second >= .milliseconds(1000) && second <= .milliseconds(2000))
            let capped = try #require(settings.delay(afterAttempt: 3))
            #expect(capped >= .milliseconds(1500) && capped <= .milliseconds(3000))
        }
        #expect(settings.delay(afterAttempt: 1, retryAfter: .seconds(30)) == .seconds(30))
        #expect(settings.delay(afterAttempt: 4) == nil, "the fourth attempt was the last")
        #expect(throws: ConfigError.self) {
            try WebhookDeliverySettings(environment: Environment(values: ["OUTBOUND_WEBHOOK_MAX_ATTEMPTS": "0"]))
        }
    }

    @Test func eventPatterns() {
        for ok in ["*", "lead.*", "lead.opened", "contact.opted_out"] {
            #expect(OutboundWebhooksController.isEventPattern(ok), "\(ok)")
        }
        for bad in ["", "lead", "Lead.opened", "lead.opened.x", ".opened", "lead.", "*.opened"] {
            #expect(!OutboundWebhooksController.isEventPattern(bad), "\(bad)")
        }
    }
}
