/// How a stage retries a failing batch before isolating the bad record.
public struct RetryPolicy: Sendable {
    /// Attempts for a whole batch (covers passing database or broker trouble).
    public var batchAttempts: Int
    /// Attempts for a single record once the batch has been split.
    public var recordAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(
        batchAttempts: Int = 3, recordAttempts: Int = 3, baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(2)
    ) {
        self.batchAttempts = batchAttempts
        self.recordAttempts = recordAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Exponential backoff with full jitter, so replicas that failed together retry apart.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exp = baseDelay * (1 << min(attempt - 1, 16))
        let capped = min(exp, maxDelay)
        let ms = Double(capped.components.seconds) * 1000 + Double(capped.components.attoseconds) / 1e15
        return .milliseconds(Int.random(in: 0...max(1, Int(ms))))
    }
}
