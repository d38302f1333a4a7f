import Dispatch
import Foundation
import Synchronization

/// One dedicated OS thread that runs blocking librdkafka calls (consumer poll, sync commit,
/// close, admin requests) in FIFO order. Blocking one of the few threads of Swift's
/// cooperative pool would stall unrelated tasks, so these calls never run there.
final class BlockingExecutor: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var accepting = true
    }

    private let queue = Mutex(Queue())
    /// Signalled once per job, and once more by `shutdown`.
    private let wakeUp = DispatchSemaphore(value: 0)

    init(name: String) {
        // The thread keeps the executor alive until `shutdown` lets it finish.
        let thread = Thread { [self] in self.work() }
        thread.name = name
        thread.start()
    }

    /// Thrown by `run` once the executor was shut down.
    struct Rejected: Error {}

    /// Runs `body` on the executor's thread. Throws `Rejected` if the executor was shut down.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit {
                continuation.resume(with: Result(catching: body))
            }
            if !accepted {
                continuation.resume(throwing: Rejected())
            }
        }
    }

    /// Queues a job without waiting for it; false if the executor no longer accepts jobs.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = queue.withLock { queue in
            guard queue.accepting else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { wakeUp.signal() }
        return accepted
    }

    /// Stops accepting jobs; the thread finishes the queued ones, then exits. Idempotent.
    func shutdown() {
        let first = queue.withLock { queue in
            defer { queue.accepting = false }
            return queue.accepting
        }
        if first { wakeUp.signal() }
    }

    private func work() {
        while true {
            wakeUp.wait()
            // There are as many signals as jobs plus one for shutdown, and jobs are appended
            // before their signal: an empty queue therefore means "shut down and drained".
            let job = queue.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            guard let job else { return }
            job()
        }
    }
}

/// Set from a task-cancellation handler, read by a blocking loop between short waits.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }
}
