import ServiceLifecycle
import Synchronization

/// Opens once start-up work (migrations, topics) is done; consumers and readiness wait on it.
public final class StartupGate: Sendable {
    private let opened = Mutex(false)

    public init() {}

    public var isOpen: Bool { opened.withLock { $0 } }

    public func open() { opened.withLock { $0 = true } }

    /// For services of a ServiceGroup: waits until open and returns true, or returns false as
    /// soon as a graceful shutdown (SIGTERM during start-up) or cancellation begins.
    public func waitUnlessShuttingDown() async throws -> Bool {
        while !isOpen {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Returns when open; throws CancellationError if the task is cancelled first.
    public func wait() async throws {
        while !isOpen {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
