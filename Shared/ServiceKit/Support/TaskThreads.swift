import NIOCore
import NIOPosix

/// Where Swift tasks run in a service.
public enum TaskThreads {
    /// Runs every task on NIO's event-loop threads instead of Swift's own pool, so a request
    /// answered after an await (the webhook ack waits for the broker) does not hop between two
    /// sets of threads; each hop costs run-queue wait when the machine is busy. Call first
    /// thing in `main`, once. Safe only because nothing here blocks inside a task: librdkafka
    /// polling and other blocking calls have threads of their own.
    public static func runOnEventLoops() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
