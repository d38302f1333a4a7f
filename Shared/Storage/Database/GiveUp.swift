import Synchronization

/// Waiting for work that may never return: a statement PostgresNIO 1.33 wrote to a connection
/// the server had closed is never completed, and nothing cancels it. The work runs in a task
/// of its own, raced against a give-up condition (a timer, a watch on the connection); the
/// first to finish decides, and a work task that lost is cancelled and left behind.
public enum GiveUp {
    /// `work`'s result, or `condition`'s once it returns first (a value to use instead, or an
    /// error to throw; `gaveUp` runs then). `condition` is cancelled when `work` finishes
    /// first, so it should wait cancellably.
    public static func race<Value: Sendable>(
        _ work: sending @escaping () async throws -> Value,
        against condition: @escaping @Sendable () async throws -> Result<Value, any Error>,
        gaveUp: @escaping @Sendable () -> Void = {}
    ) async throws -> Value {
        let outcome = FirstResult<Value>()
        let task = Task {
            do {
                outcome.finish(.success(try await work()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let watch = Task {
            guard let result = try? await condition() else { return }
            if outcome.finish(result) {
                gaveUp()
                task.cancel()
            }
        }
        defer { watch.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            task.cancel()
        }
    }
}

/// The first of several results, awaited once.
final class FirstResult<Value: Sendable>: Sendable {
    private typealias State = (result: Result<Value, any Error>?, waiter: CheckedContinuation<Value, any Error>?)
    private let state = Mutex<State>((nil, nil))

    /// Whether this was the first result.
    @discardableResult
    func finish(_ result: Result<Value, any Error>) -> Bool {
        let (first, waiter): (Bool, CheckedContinuation<Value, any Error>?) = state.withLock { state in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            let waiter = state.waiter
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume(with: result)
        return first
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let ready: Result<Value, any Error>? = state.withLock {
                if let result = $0.result { return result }
                $0.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
