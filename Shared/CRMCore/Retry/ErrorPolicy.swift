import Foundation
import WireModels

/// What to do after a Cloud API error, by Meta's error code (table: docs/ARCHITECTURE.md, "Outbound").
public enum ErrorDecision: Sendable, Equatable {
    /// Try this request again after the back-off for its attempt number (at most `maxAttempts`).
    case retry(maxAttempts: Int)
    /// Slow the whole business number down for `pause`, then retry this request.
    case backOffNumber(pause: TimeInterval, maxAttempts: Int)
    /// Only this recipient waits 4^n seconds (pair rate limit, 131056).
    case pairLimited
    /// Auth failed: alert, reload the credentials, retry after `pause`.
    case refreshAndAlert(pause: TimeInterval)
    /// The number cannot send at all until someone fixes the account: halt it and alert.
    case haltNumber(pause: TimeInterval)
    case permanent

    /// The label stored as the attempt's decision and used in metrics.
    public var label: String {
        switch self {
        case .retry: return "retry"
        case .backOffNumber: return "back off number"
        case .pairLimited: return "pair rate limited"
        case .refreshAndAlert: return "refresh credentials and alert"
        case .haltNumber: return "halt number and alert"
        case .permanent: return "permanent failure"
        }
    }
}

public enum ErrorPolicy {
    public static let defaultMaxAttempts = 6

    /// `httpStatus` nil = no answer (connection refused, timeout): transient.
    public static func decide(code: Int?, httpStatus: Int?) -> ErrorDecision {
        guard let code else { return .retry(maxAttempts: defaultMaxAttempts) }
        // HTTP 429 is a throttle whatever the body says: Meta's throttling codes are handled
        // below, and a 429 with an unknown or generic code is paced like 130429, not given up
        // after three attempts (code 1) or at once (an unknown 4xx).
        let throttled = httpStatus == 429
        switch code {
        case 1 where throttled: return .backOffNumber(pause: 1, maxAttempts: 10)
        case 1: return .retry(maxAttempts: 3)
        case 2, 131000, 131016: return .retry(maxAttempts: defaultMaxAttempts)
        case 4, 80007: return .backOffNumber(pause: 120, maxAttempts: defaultMaxAttempts)
        case 130429: return .backOffNumber(pause: 1, maxAttempts: 10)
        case 131056: return .pairLimited
        case 131057: return .backOffNumber(pause: 60, maxAttempts: defaultMaxAttempts)
        case 131048: return .backOffNumber(pause: 600, maxAttempts: 3)
        case 0, 190: return .refreshAndAlert(pause: 30)
        case 131031, 368, 131042, 131045: return .haltNumber(pause: 3600)
        case 3, 10, 100, 131008, 131009, 131021, 131026, 131030, 131047, 131049, 131050, 131051, 131053,
            132000, 132001, 132005, 132007, 132008, 132012, 132015, 132016, 132018:
            return .permanent
        case 200...299: return .permanent
        default:
            // An unknown code on a 5xx is the server's trouble; on a 4xx it is ours.
            if throttled { return .backOffNumber(pause: 1, maxAttempts: 10) }
            if let httpStatus, httpStatus >= 500 { return .retry(maxAttempts: defaultMaxAttempts) }
            return .permanent
        }
    }

    /// Exponential back-off with ±20 % jitter: 1 s, 2 s, 4 s … capped at 5 minutes.
    public static func backoff(attempt: Int, random: Double = Double.random(in: 0..<1)) -> TimeInterval {
        let base = min(300, pow(2, Double(max(0, attempt - 1))))
        return base * (0.8 + 0.4 * random)
    }

    /// 131056: 1 s, 4 s, 16 s … (4^n, n = earlier pair-limit hits), capped at 15 minutes.
    public static func pairBackoff(hits: Int) -> TimeInterval {
        min(900, pow(4, Double(max(0, hits))))
    }
}
