import Synchronization

/// Opens once start-up work (migrations, topics) is done; consumers and readiness wait on it.
public final class StartupGate: Sendable {
    private let opened = Mutex(false)

    public init() {}

    public var isOpen: Bool { opened.withLock { $0 } }

    public func open() { opened.withLock { $0 = true } }

    /// Returns when open; throws CancellationError if the task is cancelled first.
    public func wait() async throws {
        while !isOpen {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
