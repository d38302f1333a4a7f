import Foundation
import Testing

/// A broker of the test's own (the `make test` binary, `CRM_TANSU_BIN`), for tests that freeze
/// it (SIGSTOP) and thaw it (SIGCONT) like a network partition without touching the shared one.
final class PrivateBroker: @unchecked Sendable {
    let process = Process()
    let port = freePort()
    var address: String { "127.0.0.1:\(port)" }

    /// Nil (with an issue recorded) when the tests do not run through `make test`.
    static func start() throws -> PrivateBroker? {
        guard let tansu = ProcessInfo.processInfo.environment["CRM_TANSU_BIN"], !tansu.isEmpty else {
            Issue.record("CRM_TANSU_BIN is not set: run the tests through `make test`")
            return nil
        }
        let broker = PrivateBroker()
        broker.process.executableURL = URL(fileURLWithPath: tansu)
        broker.process.arguments = [
            "broker", "--listener-url", "tcp://\(broker.address)", "--advertised-listener-url",
            "tcp://\(broker.address)", "--storage-engine", "memory://tansu/",
        ]
        broker.process.standardOutput = FileHandle.nullDevice
        broker.process.standardError = FileHandle.nullDevice
        try broker.process.run()
        return broker
    }

    func freeze() { kill(process.processIdentifier, SIGSTOP) }
    func thaw() { kill(process.processIdentifier, SIGCONT) }

    /// The broker does not stop on SIGTERM: kill it so no test leaves it running.
    func stop() {
        thaw()
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
