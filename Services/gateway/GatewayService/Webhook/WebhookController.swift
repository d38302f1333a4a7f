import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Metrics
import NIOCore
import ServiceKit
import WireModels

/// Meta's callback: the verification handshake and notifications. A notification is answered
/// 200 only after the broker acknowledged the raw body (acks=all); nothing slower (no
/// database) happens on this path.
public struct WebhookController: Sendable {
    let verifier: SignatureVerifier
    let verifyTokens: [String]
    let producer: KafkaProducer
    let topic: String
    let maxBodyBytes: Int
    let limits: RateLimits
    let logger: Logger

    public init(config: ServiceConfig, producer: KafkaProducer, limits: RateLimits, logger: Logger) {
        verifier = SignatureVerifier(appSecrets: config.whatsapp.appSecrets)
        verifyTokens = config.whatsapp.verifyTokens
        self.producer = producer
        topic = config.topics.name(Topics.webhookRaw)
        maxBodyBytes = config.webhookMaxBodyBytes
        self.limits = limits
        self.logger = logger
    }

    public func add(to router: Router<some RequestContext>) {
        router.get("webhooks/whatsapp") { request, _ in self.handshake(request) }
        router.post("webhooks/whatsapp") { request, context in
            // A trace per notification (or the caller's, from `traceparent`), carried on the record.
            let span = RecordSpan("webhook receive", request: request.headers)
            let response = try await self.receive(request, source: self.limits.source(request, context), span: span)
            span.setAttribute("http.response.status_code", Int(response.status.code))
            span.end()
            return response
        }
    }

    func handshake(_ request: Request) -> Response {
        let q = request.uri.queryParameters
        let mode = q["hub.mode"].map(String.init)
        let token = q["hub.verify_token"].map { Array($0.utf8) } ?? []
        let challenge = q["hub.challenge"].map(String.init) ?? ""
        // Compare against every token without stopping early.
        var matched = false
        for candidate in verifyTokens where Self.constantTimeEqual(Array(candidate.utf8), token) { matched = true }
        guard mode == "subscribe", matched else {
            WebhookMetrics.outcome(.handshakeRejected)
            return plain(.forbidden, "verification failed\n")
        }
        WebhookMetrics.outcome(.handshakeOK)
        return plain(.ok, challenge)
    }

    func receive(_ request: Request, source: String, span: RecordSpan? = nil) async throws -> Response {
        let started = ContinuousClock.now
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            WebhookMetrics.outcome(.tooLarge)
            return plain(.contentTooLarge, "body exceeds \(maxBodyBytes) bytes\n")
        }
        let body = Array(buffer.readableBytesView)
        WebhookMetrics.bytes.record(body.count)
        do {
            try verifier.verify(body: body, header: request.headers[.xHubSignature256])
        } catch {
            WebhookMetrics.outcome(.badSignature)
            // Only failures count: an address that keeps sending bad signatures gets 429 and
            // no more log lines; a valid signature from it is still accepted above.
            if limits.badSignatures.take(source) != nil {
                RateLimits.limitedSignatures.increment()
                return plain(.tooManyRequests, "too many requests with a bad signature\n")
            }
            logger.warning("webhook rejected", metadata: ["reason": "\(error)", "source": "\(source)"])
            return plain(.unauthorized, "\(error)\n")
        }
        let parsed: WebhookBody
        do {
            parsed = try WebhookBody(bytes: body)
        } catch {
            WebhookMetrics.outcome(.badRequest)
            return plain(.badRequest, "\(error)\n")
        }
        let sha = Hashing.sha256Hex(body)
        let raw = RawWebhook(bytes: body, sha256: sha, receivedAt: Date())
        do {
            try await producer.send(
                RawWebhookRecord.outgoing(
                    raw, topic: topic, key: parsed.partitionKey, source: "gateway", headers: span?.headers ?? []))
        } catch {
            WebhookMetrics.outcome(.unavailable)
            logger.error(
                "broker did not acknowledge webhook",
                metadata: ["event_id": "\(sha)", "error": "\(error)"].merging(span?.metadata ?? [:]) { a, _ in a })
            return plain(.serviceUnavailable, "could not store the notification, retry later\n")
        }
        WebhookMetrics.outcome(.accepted)
        WebhookMetrics.ackLatency.recordInterval(since: started)
        logger.debug(
            "webhook accepted",
            metadata: ["event_id": "\(sha)", "bytes": "\(body.count)"].merging(span?.metadata ?? [:]) { a, _ in a })
        return plain(.ok, "EVENT_RECEIVED\n")
    }

    func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

enum WebhookMetrics {
    static let bytes = Recorder(label: "crm_webhook_body_bytes")
    static let ackLatency = Metrics.Timer(label: "crm_webhook_ack_seconds")

    enum Outcome: String, CaseIterable {
        case accepted
        case unavailable
        case badSignature = "bad_signature"
        case badRequest = "bad_request"
        case tooLarge = "too_large"
        case handshakeOK = "handshake_ok"
        case handshakeRejected = "handshake_rejected"
    }

    /// Made once: looking a counter up by label and dimensions on every request was a
    /// measurable share of the webhook path's CPU.
    static let counters = Dictionary(
        uniqueKeysWithValues: Outcome.allCases.map {
            ($0, Counter(label: "crm_webhook_requests_total", dimensions: [("outcome", $0.rawValue)]))
        })

    /// Every series at zero from the start, so that dashboards and `rate()` see them before
    /// the first webhook (statics are otherwise made on first use).
    static func register() {
        _ = (bytes, ackLatency, counters, RateLimits.limited, RateLimits.limitedSignatures)
    }

    static func outcome(_ outcome: Outcome) {
        counters[outcome]?.increment()
    }
}

extension HTTPField.Name {
    static let xHubSignature256 = Self("X-Hub-Signature-256")!
}
