import Foundation
import Testing

/// A PostgreSQL server of the test's own (`scripts/private-postgres.sh`), for tests that stop
/// the server itself, as a restart or failover does, without touching the shared one.
final class PrivatePostgres: @unchecked Sendable {
    let port = freePort()
    /// Under `CRM_PRIVATE_PG_ROOT` (set by `make test`, which stops what a crashed test left).
    let directory = URL(
        fileURLWithPath: ProcessInfo.processInfo.environment["CRM_PRIVATE_PG_ROOT"] ?? "/var/tmp/crm-private-pg"
    ).appendingPathComponent(String(UUID().uuidString.prefix(8)).lowercased())
    /// The server's admin URL (role `crm`, database `crm`); `E2EStack` makes its database here.
    var url: String { "postgres://crm@127.0.0.1:\(port)/crm" }

    private static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/private-postgres.sh").path

    static func start() async throws -> PrivatePostgres {
        let server = PrivatePostgres()
        try await server.start()
        return server
    }

    /// Starts the server (a new cluster the first time).
    func start() async throws { try await runOffPool(["start", directory.path, String(port)]) }

    /// A fast shutdown: sessions are ended by the server and new connections refused.
    func stop() async throws { try await runOffPool(["stop", directory.path]) }

    /// Stops the server and deletes its files (blocking: for `defer`).
    func destroy() { try? run(["destroy", directory.path]) }

    /// `run` on a thread of its own: `pg_ctl` waits for the server (up to 30 s under load),
    /// and blocking one of the two threads of Swift's pool on a 2-core machine stalls every
    /// other test of the process, the timers of the code under test among them.
    private func runOffPool(_ arguments: [String]) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try self.run(arguments)
                    done.resume()
                } catch {
                    done.resume(throwing: error)
                }
            }.start()
        }
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PrivatePostgresFailed(command: arguments.joined(separator: " "), output: text)
        }
    }
}

struct PrivatePostgresFailed: Error, CustomStringConvertible {
    let command: String
    let output: String
    var description: String { "private-postgres.sh \(command) failed:\n\(output)" }
}
