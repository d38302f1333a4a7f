import Foundation
import NormalizerService
import WireModels

/// The code that reads what strangers send, fed arbitrary bytes: Meta's webhook JSON
/// (`webhook`), the normalizer that turns a parsed body into events (`normalizer`), and the
/// phone-number parsers applied to typed and received numbers (`phone`). None may crash,
/// hang or trap, whatever the input.
enum FuzzTargets {
    static let names = ["webhook", "normalizer", "phone"]

    static func run(_ target: String, _ bytes: [UInt8]) {
        switch target {
        case "webhook":
            _ = try? WebhookBody(bytes: bytes)
        case "normalizer":
            guard let body = try? WebhookBody(bytes: bytes) else { return }
            _ = WebhookNormalizer().normalize(body, receivedAt: Date(timeIntervalSince1970: 1_764_000_000))
        case "phone":
            let text = String(decoding: bytes, as: UTF8.self)
            _ = PhoneNumber.digits(text)
            _ = PhoneNumber.e164(text)
            _ = ContactMatchKey(typed: text)
            _ = ContactMatchKey(typed: text, defaultCountry: "BR")
            _ = ContactMatchKey(waId: text)
        default:
            fatalError("unknown fuzz target \(target); one of \(names)")
        }
    }
}

#if FUZZING
    // Built with `-sanitize=fuzzer -DFUZZING` (`make fuzz`): libFuzzer's driver calls this with
    // each input it generates; CRM_FUZZ_TARGET picks the code under test.
    let fuzzTarget = ProcessInfo.processInfo.environment["CRM_FUZZ_TARGET"] ?? "webhook"

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        FuzzTargets.run(fuzzTarget, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    // SwiftPM links an executable's entry point as `<module>_main` (so that tests can link the
    // module); libFuzzer's own `main` is then never pulled in, and this starts its driver.
    @_cdecl("crm_fuzz_main")
    public func fuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments, fuzzOneInput)
    }
#else
    /// In a normal build: `crm-fuzz TARGET FILE|DIR...` runs saved inputs (a corpus, a crash)
    /// through a target once each, so a crash can be reproduced under the debugger or a test.
    @main
    struct Replay {
        static func main() throws {
            let args = CommandLine.arguments.dropFirst()
            guard let target = args.first, FuzzTargets.names.contains(target) else {
                print("usage: crm-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE|DIR...")
                exit(2)
            }
            var count = 0
            for path in args.dropFirst() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                let files =
                    isDirectory.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" }
                    : [path]
                for file in files {
                    FuzzTargets.run(target, Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                    count += 1
                }
            }
            print("\(target): \(count) inputs, no crash")
        }
    }
#endif
