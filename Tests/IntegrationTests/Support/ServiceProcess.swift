import Foundation

/// One of our service executables, started as a real process with its own environment and a
/// log file (shown when a test fails).
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let logURL: URL

    /// `binary` defaults to `name`; a second replica of a service has a name of its own. The log
    /// is `logFile` in `logDir` (default: the name and a random suffix).
    init(
        binDir: String, name: String, binary: String? = nil, environment: [String: String], logDir: URL,
        arguments: [String] = [], currentDirectory: URL? = nil, logFile: String? = nil
    ) throws {
        self.name = name
        logURL = logDir.appendingPathComponent(logFile ?? "\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: binDir).appendingPathComponent(binary ?? name)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then wait (graceful shutdown must finish in time); SIGKILL if it does not.
    @discardableResult
    func stop(timeout: Duration = .seconds(15)) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill()
            return nil
        }
        return process.terminationStatus
    }

    /// SIGKILL: a crash, with no chance to drain or commit.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func waitForExit(timeout: Duration) async throws -> (reason: Process.TerminationReason, status: Int32) {
        try await eventually("\(name) to exit", timeout: timeout, every: .milliseconds(50)) { !process.isRunning }
        return (process.terminationReason, process.terminationStatus)
    }

    func logTail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
