import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import WireModels

/// Where the simulator's webhooks (statuses, inbound load) go. Tests inject a recorder.
public protocol WebhookPoster: Sendable {
    /// Posts one notification body; throws when it was not accepted (after any retries).
    func post(_ body: [UInt8]) async throws
}

/// Posts to SIMULATOR_WEBHOOK_URL like Meta: JSON, `X-Hub-Signature-256: sha256=<hmac>` over the
/// raw bytes with the app secret; a non-200 answer or a connection error is retried with
/// backoff (doubling, at most 5 s apart) up to `attempts` times and for at most `retryFor`
/// (Meta retries for days; the simulator for SIMULATOR_WEBHOOK_RETRY_SECONDS), so a gateway
/// that is down or answers 503 for a while gets the statuses afterwards, as it would from Meta.
public struct HTTPWebhookPoster: WebhookPoster {
    public let url: String
    public let appSecret: String?
    public let attempts: Int
    public let backoff: Duration
    public let retryFor: Duration?
    let http: HTTPClient

    public init(
        url: String, appSecret: String?, attempts: Int = 3, backoff: Duration = .milliseconds(500),
        retryFor: Duration? = nil, http: HTTPClient = .shared
    ) {
        self.url = url
        self.appSecret = appSecret
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.retryFor = retryFor
        self.http = http
    }

    public func post(_ body: [UInt8]) async throws {
        let giveUp = retryFor.map { ContinuousClock.now + $0 }
        var delay = backoff
        for attempt in 1... {
            do {
                try await postOnce(body)
                return
            } catch {
                let past = giveUp.map { ContinuousClock.now + delay > $0 } ?? false
                if attempt >= attempts || past || Task.isCancelled { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    func postOnce(_ body: [UInt8]) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let appSecret {
            request.headers.add(name: "X-Hub-Signature-256", value: Self.signature(body, secret: appSecret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok else {
            throw SimulatorError(description: "webhook receiver answered \(response.status.code)")
        }
    }

    /// `sha256=` + lowercase hex HMAC-SHA256 of the raw body.
    public static func signature(_ body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + Array(mac).hexString
    }
}

struct SimulatorError: Error, CustomStringConvertible {
    let description: String
}
