import Foundation
import ServiceKit

/// How outbound webhooks are delivered (environment, read once at start).
public struct WebhookDeliverySettings: Sendable {
    /// Attempts per event and endpoint before the delivery is marked failed.
    public var maxAttempts: Int
    /// First retry delay; doubles per attempt up to `maxBackoff`.
    public var baseBackoff: Duration
    public var maxBackoff: Duration
    /// Per-request timeout: a hanging endpoint costs one worker slot for at most this long.
    public var timeout: Duration
    /// Deliveries in flight per process (each to a different endpoint).
    public var concurrency: Int
    public var pollInterval: Duration = .milliseconds(250)
    /// Checked again before every delivery (`OUTBOUND_WEBHOOK_ALLOW_LOOPBACK`, `OUTBOUND_WEBHOOK_ALLOW`).
    public var destinations: DestinationPolicy

    public init(environment: Environment = Environment()) throws {
        maxAttempts = try environment.int("OUTBOUND_WEBHOOK_MAX_ATTEMPTS", default: 10)
        baseBackoff = .milliseconds(try environment.int("OUTBOUND_WEBHOOK_BACKOFF_MS", default: 5_000))
        maxBackoff = .milliseconds(try environment.int("OUTBOUND_WEBHOOK_MAX_BACKOFF_MS", default: 3_600_000))
        timeout = .milliseconds(try environment.int("OUTBOUND_WEBHOOK_TIMEOUT_MS", default: 10_000))
        concurrency = try environment.int("OUTBOUND_WEBHOOK_CONCURRENCY", default: 8)
        destinations = try DestinationPolicy(environment: environment)
        guard maxAttempts >= 1, concurrency >= 1 else {
            throw ConfigError("OUTBOUND_WEBHOOK_MAX_ATTEMPTS and OUTBOUND_WEBHOOK_CONCURRENCY must be at least 1")
        }
    }

    /// The wait before attempt `attempt + 1`: exponential with jitter (half fixed, half random,
    /// so endpoints that failed together are retried apart), never sooner than the endpoint's
    /// `Retry-After`. Nil once the attempts are used up.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        let exponential = baseBackoff * (1 << min(attempt - 1, 20))
        let capped = min(exponential, maxBackoff)
        let half = capped / 2
        let jitter = half * Double.random(in: 0...1)
        return max(half + jitter, retryAfter ?? .zero)
    }
}
