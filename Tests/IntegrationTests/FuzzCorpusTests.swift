import Foundation
import Testing

/// What the fuzzer taught stays taught: every saved crash (`Tests/Fuzz/crashes/<target>/`,
/// written by `make fuzz`) and every seed goes through its target again in each test run,
/// with `crm-fuzz`'s replay mode (the same code the fuzzer drives, without the sanitizer).
@Suite struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/meta-webhooks-pywa")

    @Test(arguments: ["webhook", "normalizer", "phone"])
    func savedCrashesAndSeedsRunCleanly(target: String) async throws {
        let env = try TestEnvironment.require()
        let inputs = [
            Self.fuzz.appendingPathComponent("crashes/\(target)").path,
            target == "phone" ? Self.fuzz.appendingPathComponent("seeds/phone").path : Self.fixtures.path,
        ]
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("crm-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let replay = try ServiceProcess(
            binDir: env.binDir, name: "crm-fuzz", environment: [:], logDir: logs, arguments: [target] + inputs)
        let exit = try await replay.waitForExit(timeout: .seconds(60))
        #expect(exit.status == 0, "\(replay.logTail())")
        #expect(replay.logTail().contains("\(target): "), "\(replay.logTail())")
        #expect(replay.logTail().contains("no crash"))
    }
}
