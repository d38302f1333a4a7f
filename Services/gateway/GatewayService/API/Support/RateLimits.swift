import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import ServiceKit

/// Per-source limits of the gateway (docs/SECURITY.md): API requests per client address, and
/// failed webhook signatures per address. Meta's own posts are never limited: only requests
/// whose signature failed count, and a valid signature is always accepted (by outcome, not
/// by path).
public struct RateLimits: Sendable {
    let api: RateLimiter
    let badSignatures: RateLimiter
    /// `RATE_LIMIT_TRUST_FORWARDED=1`: behind a proxy that appends the client's address to
    /// `X-Forwarded-For`, the last entry is the source (never trust it without such a proxy).
    let trustForwarded: Bool

    /// From `API_RATE_LIMIT_PER_SECOND` (20), `API_RATE_LIMIT_BURST` (100),
    /// `WEBHOOK_BAD_SIGNATURES_PER_MINUTE` (30) and `RATE_LIMIT_TRUST_FORWARDED`.
    public init(environment: ServiceKit.Environment) throws {
        let rate = try environment.int("API_RATE_LIMIT_PER_SECOND", default: 20)
        let burst = try environment.int("API_RATE_LIMIT_BURST", default: 100)
        let bad = try environment.int("WEBHOOK_BAD_SIGNATURES_PER_MINUTE", default: 30)
        guard rate >= 1, burst >= 1, bad >= 1 else {
            throw ConfigError(
                "API_RATE_LIMIT_PER_SECOND, API_RATE_LIMIT_BURST and WEBHOOK_BAD_SIGNATURES_PER_MINUTE must be at least 1"
            )
        }
        api = RateLimiter(rate: Double(rate), burst: Double(burst))
        badSignatures = RateLimiter(rate: Double(bad) / 60, burst: Double(bad))
        trustForwarded = ["1", "true", "yes"].contains((environment["RATE_LIMIT_TRUST_FORWARDED"] ?? "0").lowercased())
    }

    /// The client's address as this gateway sees it.
    func source(_ request: Request, _ context: some RequestContext) -> String {
        if trustForwarded, let forwarded = request.headers[.xForwardedFor],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return last
        }
        return (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "unknown"
    }

    static let limited = Counter(label: "crm_rate_limited_total", dimensions: [("limit", "api")])
    static let limitedSignatures = Counter(label: "crm_rate_limited_total", dimensions: [("limit", "bad_signature")])
}

/// Answers 429 (with `Retry-After`) to an address past its API budget.
struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limits: RateLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if let wait = limits.api.take(limits.source(request, context)) {
            RateLimits.limited.increment()
            throw APIError.tooManyRequests(retryAfter: wait)
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
