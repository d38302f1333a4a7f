import Foundation
import Storage

/// Runs a service's top level: a start-up error (bad configuration, port in use) ends the
/// process with one readable line and exit status 1, not a crash report.
public func serviceMain(_ name: String, _ body: @Sendable () async throws -> Void) async {
    do {
        try await body()
    } catch {
        FileHandle.standardError.write(Data("\(name): cannot run: \(ErrorText.describe(error))\n".utf8))
        exit(1)
    }
}
