/// Thrown by `withTimeout` when the operation did not finish in time.
public struct TimeoutError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs `operation`, cancelling it after `duration`. PostgresNIO queries wait (rather than
/// fail) while no connection can be made, so every health probe needs a bound.
@discardableResult
public func withTimeout<T: Sendable>(
    _ duration: Duration, _ what: String, operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimeoutError(description: "\(what) timed out after \(duration)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
