import Dispatch
import Foundation
import Synchronization

/// One dedicated OS thread per client that runs its blocking librdkafka calls (consumer poll,
/// sync commit, close, admin requests) in FIFO order. Blocking one of the few threads of
/// Swift's cooperative pool (or, in the gateway, of NIO's event loops, which run its tasks)
/// would stall unrelated work, so these calls never run there: `run` hands the call to this
/// thread as a Swift `TaskExecutor`, and every blocking call checks, in debug builds (the
/// tests), that it is on such a thread (`assertOnBlockingThread`).
final class BlockingExecutor: TaskExecutor, Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var accepting = true
    }

    private let queue = Mutex(Queue())
    /// Signalled once per job, and once more by `shutdown`.
    private let wakeUp = DispatchSemaphore(value: 0)

    init(name: String) {
        // The thread keeps the executor alive until `shutdown` lets it finish.
        let thread = Thread { [self] in
            Self.markBlockingThread()
            self.work()
        }
        thread.name = name
        thread.start()
    }

    /// Thrown by `run` once the executor was shut down.
    struct Rejected: Error {}

    private static let marker = "crm.rdkafka-blocking-thread"

    private static func markBlockingThread() { Thread.current.threadDictionary[marker] = true }

    /// Fails (debug builds) unless called on a blocking executor's thread.
    static func assertOnBlockingThread(file: StaticString = #fileID, line: UInt = #line) {
        assert(
            Thread.current.threadDictionary[marker] != nil,
            "a blocking librdkafka call outside its client's thread", file: file, line: line)
    }

    /// Runs `body` on the executor's thread (this executor is the task's preferred executor
    /// while it runs). Throws `Rejected` if the executor was shut down.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard queue.withLock({ $0.accepting }) else { throw Rejected() }
        return try await withTaskExecutorPreference(self) { try body() }
    }

    /// `TaskExecutor`: a job runs on the thread in FIFO order with the blocking calls. One that
    /// arrives after `shutdown` (a task still finishing) gets a short-lived thread instead.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        if !submit({ job.runSynchronously(on: executor) }) {
            Thread {
                Self.markBlockingThread()
                job.runSynchronously(on: executor)
            }.start()
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
