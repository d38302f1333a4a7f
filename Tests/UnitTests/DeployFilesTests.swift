import Foundation
import Testing

/// docker-compose.yml and k8s/*.yaml must run every service and name every environment
/// variable the code reads, so that no setting ships without a way to set it in a deployment.
/// The variables are discovered from the sources (string literals used as environment keys
/// under Shared/, Services/ and Tools/), not listed here: a new `env["X"]` fails these tests until the
/// deploy files mention X (set it, or document it in a comment). The files' syntax is checked
/// by scripts/validate-deploy.sh (docker-compose config, kubernetes-validate, hadolint).
@Suite struct DeployFilesTests {
    /// Long-running executables: each must run in docker-compose.yml and in k8s/.
    static let services = ["gateway", "normalizer", "crm-matcher", "sender", "reporter"]
    /// Test-only hooks: read by the code, but no deploy file may set (or even mention) them.
    static let testOnly: Set<String> = ["CRM_FAULT_CRASH_AFTER_COMMIT"]
    static let testOnlyPrefix = "CRM_FAULT_"
    /// Read only by wa-simulator (dev/test): needed in compose's wa-simulator service only.
    static let simulatorOnlyPrefix = "SIMULATOR_"

    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/UnitTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository

    // MARK: - Tests

    @Test func environmentDiscoveryFindsTheCoreVariables() throws {
        let names = try Self.environmentVariablesReadByCode()
        // If these go missing, the code reads its environment in a way the patterns below
        // don't recognise: extend `environmentKeyPatterns` rather than weakening this check.
        for core in ["KAFKA_BROKERS", "DATABASE_URL", "HTTP_PORT", "ADMIN_PORT", "WHATSAPP_APP_SECRET"] {
            #expect(names.contains(core), "environment discovery did not find \(core) in Shared/, Services/ or Tools/")
        }
    }

    @Test func everyServiceRunsInComposeAndKubernetes() throws {
        let compose = try Self.read("docker-compose.yml")
        let kubernetes = try Self.kubernetesManifests()
        for service in Self.services {
            let inCompose = try Self.runs(service, in: compose, key: "command")
            let inKubernetes = try Self.runs(service, in: kubernetes, key: "args")
            #expect(inCompose, "docker-compose.yml has no service with command [\"\(service)\"]")
            #expect(inKubernetes, "k8s/*.yaml has no container with args [\"\(service)\"]")
        }
        // The one-shot jobs: migrations and topic creation.
        for job in [#""crmctl",\s*"migrate""#, #""crmctl",\s*"topics",\s*"create""#] {
            let pattern = try Regex(job)
            #expect(compose.contains(pattern), "docker-compose.yml has no job running \(job)")
            #expect(kubernetes.contains(pattern), "k8s/*.yaml has no Job running \(job)")
        }
    }

    @Test func everyEnvironmentVariableAppearsInComposeAndKubernetes() throws {
        let names = try Self.environmentVariablesReadByCode()
        let compose = try Self.read("docker-compose.yml")
        let kubernetes = try Self.kubernetesManifests()
        let simulator = try #require(
            Self.composeService("wa-simulator", in: compose), "docker-compose.yml has no wa-simulator service")

        var missingInCompose: [String] = []
        var missingInKubernetes: [String] = []
        var missingInSimulator: [String] = []
        for name in names.sorted() where !Self.isTestOnly(name) {
            if name.hasPrefix(Self.simulatorOnlyPrefix) {
                if !Self.mentions(name, in: simulator) { missingInSimulator.append(name) }
                continue
            }
            if !Self.mentions(name, in: compose) { missingInCompose.append(name) }
            if !Self.mentions(name, in: kubernetes) { missingInKubernetes.append(name) }
        }
        #expect(missingInCompose.isEmpty, "read by the code, missing from docker-compose.yml: \(missingInCompose)")
        #expect(missingInKubernetes.isEmpty, "read by the code, missing from k8s/*.yaml: \(missingInKubernetes)")
        #expect(
            missingInSimulator.isEmpty,
            "read by wa-simulator, missing from compose's wa-simulator service: \(missingInSimulator)")
    }

    @Test func testOnlyHooksAreNeverDeployed() throws {
        let names = try Self.environmentVariablesReadByCode().union(Self.testOnly)
        let compose = try Self.read("docker-compose.yml")
        let kubernetes = try Self.kubernetesManifests()
        for name in names.sorted() where Self.isTestOnly(name) {
            let inCompose = Self.mentions(name, in: compose)
            let inKubernetes = Self.mentions(name, in: kubernetes)
            #expect(!inCompose, "docker-compose.yml mentions the test-only hook \(name)")
            #expect(!inKubernetes, "k8s/*.yaml mentions the test-only hook \(name)")
        }
    }

    /// The reverse direction: a ConfigMap/Secret key or container env name in k8s/ that the
    /// code no longer reads is a stale setting (e.g. a renamed variable).
    @Test func kubernetesSetsOnlyVariablesTheCodeReads() throws {
        let names = try Self.environmentVariablesReadByCode().union(Self.readByOTel)
        let set = Self.variablesSetInKubernetes(try Self.kubernetesManifests())
        #expect(!set.isEmpty, "found no ConfigMap/Secret keys or env names in k8s/*.yaml")
        let unknown = set.subtracting(names).sorted()
        #expect(unknown.isEmpty, "k8s/*.yaml sets variables that no code reads: \(unknown)")
    }

    // MARK: - Reading the sources and the deploy files

    /// How the code reads its environment: `env["X"]`, `environment["X"]` (also
    /// `ProcessInfo.processInfo.environment["X"]`), `env.int("X", …)`, `env.list("X")`,
    /// `getenv("X")`. The first capture group is the variable's name.
    static let environmentKeyPatterns = [
        #"\b(?:env|environment)\s*\[\s*"([A-Z][A-Z0-9_]*)"\s*\]"#,
        #"\b(?:env|environment)\s*\.\s*[A-Za-z]+\s*\(\s*"([A-Z][A-Z0-9_]*)""#,
        #"\bgetenv\s*\(\s*"([A-Z][A-Z0-9_]*)""#,
    ]

    /// The standard OpenTelemetry variables swift-otel reads for `Traces.bootstrap` (listed in
    /// docs/RUNNING.md, "Traces"), not by our code.
    static let readByOTel: Set<String> = [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    ]

    static func environmentVariablesReadByCode() throws -> Set<String> {
        // Simple word boundaries: Unicode ones treat "processInfo.environment" as one word.
        let regexes = try environmentKeyPatterns.map { try Regex($0).wordBoundaryKind(.simple) }
        var found: Set<String> = []
        for folder in ["Shared", "Services", "Tools"] {
            let directory = repoRoot.appendingPathComponent(folder)
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".swift") }
            for file in files {
                let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for regex in regexes {
                    for match in source.matches(of: regex) {
                        if let name = match.output[1].substring { found.insert(String(name)) }
                    }
                }
            }
        }
        return found
    }

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: repoRoot.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// Every k8s/*.yaml file, in name order, as one text.
    static func kubernetesManifests() throws -> String {
        let directory = repoRoot.appendingPathComponent("k8s")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
        try #require(!files.isEmpty, "no manifests in k8s/")
        return try files.map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n---\n")
    }

    /// The lines of one top-level service of a compose file (`  name:` up to the next
    /// two-space-indented key or comment), or nil when there is no such service.
    static func composeService(_ name: String, in compose: String) -> String? {
        let lines = compose.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == "  \(name):" }) else { return nil }
        var block: [Substring] = []
        for line in lines[lines.index(after: start)...] {
            let indentation = line.prefix(while: { $0 == " " }).count
            if !line.trimmingCharacters(in: .whitespaces).isEmpty && indentation <= 2 { break }
            block.append(line)
        }
        return block.joined(separator: "\n")
    }

    /// True when `text` has `key: ["executable"]` (flow list) or `key:` followed by
    /// `- executable` (block list).
    static func runs(_ executable: String, in text: String, key: String) throws -> Bool {
        let flow = try Regex(#"\b"# + key + #":\s*\[\s*"?"# + executable + #""?\s*\]"#).wordBoundaryKind(.simple)
        let block = try Regex(#"\b"# + key + #":[ \t]*\n[ \t]*-[ \t]*"?"# + executable + #""?[ \t]*\n"#)
            .wordBoundaryKind(.simple)
        return text.contains(flow) || text.contains(block)
    }

    /// True when `name` occurs in `text` as a whole word (not inside a longer variable name).
    static func mentions(_ name: String, in text: String) -> Bool {
        for range in text.ranges(of: name) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !isNameCharacter(before) && !isNameCharacter(after) { return true }
        }
        return false
    }

    static func isNameCharacter(_ character: Character?) -> Bool {
        guard let character else { return false }
        return character == "_" || character.isLetter || character.isNumber
    }

    static func isTestOnly(_ name: String) -> Bool {
        testOnly.contains(name) || name.hasPrefix(testOnlyPrefix)
    }

    static func isVariableName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isUppercase, first.isLetter else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isLetter && $0.isUppercase) || $0.isNumber }
    }

    /// ConfigMap `data:` / Secret `stringData:` keys (two-space indented `KEY:` lines) and
    /// container `- name: KEY` entries whose names look like environment variables.
    static func variablesSetInKubernetes(_ manifests: String) -> Set<String> {
        var names: Set<String> = []
        for line in manifests.split(separator: "\n") {
            let indentation = line.prefix(while: { $0 == " " }).count
            let trimmed = line.drop(while: { $0 == " " })
            if indentation == 2, let colon = trimmed.firstIndex(of: ":") {
                let key = trimmed[..<colon]
                if isVariableName(key) { names.insert(String(key)) }
            } else if trimmed.hasPrefix("- name:") {
                let value = trimmed.dropFirst("- name:".count).trimmingCharacters(in: .whitespaces)
                if isVariableName(Substring(value)) { names.insert(value) }
            }
        }
        return names
    }
}
