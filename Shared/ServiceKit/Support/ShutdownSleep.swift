import ServiceLifecycle

/// Sleeps for `duration`, waking as soon as a graceful shutdown (SIGTERM) begins or the task is
/// cancelled; returns whether the caller should go on. A plain `Task.sleep` ignores graceful
/// shutdown: the sender's 15-minute template-sync wait held its SIGTERM for the group's whole
/// shutdown budget (20 s), and every loop with an interval added up to that interval.
@discardableResult
public func sleepUnlessShuttingDown(for duration: Duration) async -> Bool {
    guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return false }
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    return !Task.isShuttingDownGracefully && !Task.isCancelled
}
