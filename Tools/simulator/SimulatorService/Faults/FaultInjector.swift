import Foundation
import Synchronization
import WireModels

/// What happens to one send because of the configured faults.
public struct FaultDecision: Sendable, Equatable {
    /// Wait before answering.
    public var delay: Duration?
    /// Answer with this error instead of accepting.
    public var error: GraphError?
    /// Accept, then end the statuses with `failed` carrying this error.
    public var failStatus: GraphError?
    /// What was injected (a code, `http_503`, `delay`), nil when nothing was.
    public var label: String?

    public static let none = FaultDecision()

    init(delay: Duration? = nil, error: GraphError? = nil, failStatus: GraphError? = nil, label: String? = nil) {
        self.delay = delay
        self.error = error
        self.failStatus = failStatus
        self.label = label
    }

    init(_ action: FaultAction) {
        delay = action.delayMs.map { .milliseconds($0) }
        error = action.sendError
        failStatus = action.at == .status ? action.code.map { GraphError.code($0) } : nil
        label = action.label
    }
}

/// Applies a `FaultConfig` to sends: recipient rules first (deterministic, `times` counted per
/// rule and recipient), then the rate faults (random, reproducible with `seed`). Holds the
/// random generator the status plans use too, so that one seed replays a whole run.
public final class FaultInjector: Sendable {
    struct State {
        var config: FaultConfig
        var random: SplitMix64
        /// Sends already faulted per "rule index|wa_id", for rules with `times`.
        var used: [String: Int] = [:]
    }

    let state: Mutex<State>

    public init(_ config: FaultConfig = FaultConfig()) {
        state = Mutex(State(config: config, random: SplitMix64(seed: config.seed)))
    }

    public var config: FaultConfig {
        state.withLock { $0.config }
    }

    /// Replaces the configuration; counters of `times` start over, a seed restarts the generator.
    public func replace(_ config: FaultConfig) {
        state.withLock { $0 = State(config: config, random: SplitMix64(seed: config.seed)) }
    }

    public func decide(recipient waId: String) -> FaultDecision {
        state.withLock { state in
            for (index, rule) in state.config.rules.enumerated() where Glob.matches(rule.match, waId) {
                if let times = rule.times {
                    let key = "\(index)|\(waId)"
                    let used = state.used[key, default: 0]
                    guard used < times else { continue }
                    state.used[key] = used + 1
                }
                return FaultDecision(rule.action)
            }
            guard !state.config.rates.isEmpty else { return .none }
            let roll = Double.random(in: 0..<1, using: &state.random)
            var bound = 0.0
            for rate in state.config.rates {
                bound += rate.fraction
                if roll < bound { return FaultDecision(rate.action) }
            }
            return .none
        }
    }

    /// The sequence of statuses for an accepted send, shuffled/duplicated as configured.
    public func statusPlan(failure: GraphError?) -> StatusPlan {
        state.withLock { state in
            StatusPlan(
                failure: failure, shuffle: state.config.shuffleStatuses,
                duplicate: state.config.duplicateStatuses, using: &state.random)
        }
    }
}
