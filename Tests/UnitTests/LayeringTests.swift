import Foundation
import Testing

/// The layers of docs/ARCHITECTURE.md ("Layers"), checked on the source: SQL is written only
/// in `Shared/Storage`, and `Shared/CRMCore` stays free of I/O.
@Suite struct LayeringTests {
    static let repoRoot = DeployFilesTests.repoRoot

    static func swiftFiles(under folder: String) -> [(path: String, text: String)] {
        let root = repoRoot.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var out: [(String, String)] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            let path = String(url.path.dropFirst(repoRoot.path.count + 1))
            out.append((path, (try? String(contentsOf: url, encoding: .utf8)) ?? ""))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// A statement sent to PostgreSQL: `.query(` with SQL in it, or a `PostgresQuery` built by hand.
    static func sendsSQL(_ text: String) -> Bool {
        let statement = #/\.query\(\s*(\"\"\"|\")\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER)\b/#
        return text.contains(statement) || text.contains("PostgresQuery(") || text.contains(": PostgresQuery =")
    }

    @Test func sqlIsWrittenOnlyInStorage() {
        var offenders: [String] = []
        for folder in [
            "Shared/CRMCore", "Shared/ServiceKit", "Shared/Outbound", "Shared/CRMSetup", "Shared/Kafka", "Services",
            "Tools/crmctl", "Tools/simulator",
        ] {
            offenders += Self.swiftFiles(under: folder).filter { Self.sendsSQL($0.text) }.map(\.path)
        }
        #expect(offenders.isEmpty, "SQL outside Shared/Storage: \(offenders)")
        #expect(
            Self.swiftFiles(under: "Shared/Storage").contains { Self.sendsSQL($0.text) },
            "the check finds SQL where it is")
    }

    @Test func theDomainCoreDoesNoIO() {
        let io = [
            "PostgresNIO", "Kafka", "Hummingbird", "AsyncHTTPClient", "NIOCore", "NIOPosix", "Storage", "ServiceKit",
            "Logging",
        ]
        let files = Self.swiftFiles(under: "Shared/CRMCore")
        #expect(files.count > 10)
        for (path, text) in files {
            for module in io where text.contains("import \(module)\n") {
                Issue.record("\(path) imports \(module)")
            }
        }
    }
}
