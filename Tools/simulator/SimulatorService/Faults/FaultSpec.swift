import Foundation

/// `SIMULATOR_FAULTS`: the JSON body of `POST /_sim/faults`, or a compact list for the
/// environment, entries separated by commas:
///
/// - `GLOB=ACTION[xN][@status]`: recipients matching GLOB (`*0047`, `5511?????0056`);
///   `xN` = only the first N sends per recipient; `@status` = accept, then a `failed` status;
/// - `~FRACTION=ACTION`: that fraction of all sends (rolled when no rule applied);
/// - ACTION: a Graph code (`131047`), `http503` (a 5xx without a WhatsApp code), `delay15000`
///   (answer after 15 s), `timeout` (answer after 60 s), or several joined with `+`
///   (`delay2000+131000`).
///
/// The entry `demo` stands for `*0001=131026@status,*0047=131047,*0056=131056x1`.
public enum FaultSpec {
    public static let demo = "*0001=131026@status,*0047=131047,*0056=131056x1"
    static let timeoutDelayMs = 60_000

    public static func parse(_ text: String) throws -> FaultConfig {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            do {
                return try JSONDecoder().decode(FaultConfig.self, from: Data(trimmed.utf8))
            } catch {
                throw FaultSpecError("SIMULATOR_FAULTS is not a valid fault configuration: \(error)")
            }
        }
        var config = FaultConfig()
        let entries = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .flatMap { $0 == "demo" ? demo.split(separator: ",").map(String.init) : [$0] }
        for entry in entries where !entry.isEmpty {
            let sides = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard sides.count == 2 else { throw FaultSpecError("fault '\(entry)' is not PATTERN=ACTION") }
            let (action, times) = try Self.action(sides[1], entry: entry)
            if sides[0].hasPrefix("~") {
                guard let fraction = Double(sides[0].dropFirst()), (0...1).contains(fraction), times == nil else {
                    throw FaultSpecError("fault '\(entry)': ~FRACTION must be in 0...1, without xN")
                }
                config.rates.append(RateFault(fraction: fraction, action: action))
            } else {
                guard Glob.isValid(sides[0]) else {
                    throw FaultSpecError("fault '\(entry)': '\(sides[0])' is not a glob of digits, * and ?")
                }
                config.rules.append(FaultRule(match: sides[0], times: times, action: action))
            }
        }
        guard config.rates.reduce(0, { $0 + $1.fraction }) <= 1 + 1e-9 else {
            throw FaultSpecError("SIMULATOR_FAULTS: the ~fractions add up to more than 1")
        }
        return config
    }

    static func action(_ text: String, entry: String) throws -> (FaultAction, times: Int?) {
        var rest = Substring(text)
        var action = FaultAction()
        if let at = rest.lastIndex(of: "@") {
            guard let stage = FaultAction.Stage(rawValue: String(rest[rest.index(after: at)...])) else {
                throw FaultSpecError("fault '\(entry)': the stage after @ must be send or status")
            }
            action.at = stage
            rest = rest[..<at]
        }
        var times: Int?
        if let x = rest.lastIndex(of: "x"), let n = Int(rest[rest.index(after: x)...]) {
            guard n > 0 else { throw FaultSpecError("fault '\(entry)': xN needs N > 0") }
            times = n
            rest = rest[..<x]
        }
        for token in rest.split(separator: "+") {
            if let code = Int(token) {
                action.code = code
            } else if token.hasPrefix("http"), let status = Int(token.dropFirst(4)), (400...599).contains(status) {
                action.httpStatus = status
            } else if token.hasPrefix("delay"), let ms = Int(token.dropFirst(5)), ms >= 0 {
                action.delayMs = ms
            } else if token == "timeout" {
                action.delayMs = timeoutDelayMs
            } else {
                throw FaultSpecError("fault '\(entry)': '\(token)' is not a code, httpNNN, delayMS or timeout")
            }
        }
        guard action.code != nil || action.httpStatus != nil || action.delayMs != nil else {
            throw FaultSpecError("fault '\(entry)' has no action")
        }
        guard action.at == .send || action.code != nil else {
            throw FaultSpecError("fault '\(entry)': @status needs an error code")
        }
        return (action, times)
    }
}

public struct FaultSpecError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
