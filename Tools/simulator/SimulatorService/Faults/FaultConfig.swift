import Foundation

/// What a fault does to one send.
public struct FaultAction: Codable, Sendable, Equatable {
    public enum Stage: String, Codable, Sendable {
        /// The send is answered with the error (HTTP 4xx/5xx).
        case send
        /// The send is accepted; its statuses end with `failed` carrying the error.
        case status
    }

    /// A WhatsApp/Graph error code (131026, 131047, 130429…). Without one, `http_status` ≥ 500
    /// answers code 1 (503: code 2).
    public var code: Int?
    /// Overrides the code's usual HTTP status.
    public var httpStatus: Int?
    public var at: Stage
    /// Waits this long before answering (longer than the client's timeout = a timeout; the
    /// send is then processed normally, as a slow Meta would).
    public var delayMs: Int?

    public init(code: Int? = nil, httpStatus: Int? = nil, at: Stage = .send, delayMs: Int? = nil) {
        self.code = code
        self.httpStatus = httpStatus
        self.at = at
        self.delayMs = delayMs
    }

    enum CodingKeys: String, CodingKey {
        case code
        case httpStatus = "http_status"
        case at
        case delayMs = "delay_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decodeIfPresent(Int.self, forKey: .code)
        httpStatus = try c.decodeIfPresent(Int.self, forKey: .httpStatus)
        at = try c.decodeIfPresent(Stage.self, forKey: .at) ?? .send
        delayMs = try c.decodeIfPresent(Int.self, forKey: .delayMs)
        guard code != nil || httpStatus != nil || delayMs != nil else {
            throw DecodingError.dataCorruptedError(
                forKey: .code, in: c, debugDescription: "a fault needs code, http_status or delay_ms")
        }
        if at == .status && code == nil {
            throw DecodingError.dataCorruptedError(
                forKey: .code, in: c, debugDescription: "a fault at status needs a code")
        }
    }

    /// The error the send is answered with, nil when this action only delays or fails the status.
    var sendError: GraphError? {
        guard at == .send else { return nil }
        switch (code, httpStatus) {
        case (let code?, let status?):
            var error = GraphError.code(code)
            error.httpStatus = status
            return error
        case (let code?, nil): return GraphError.code(code)
        case (nil, let status?) where status >= 500: return GraphError.server(httpStatus: status)
        case (nil, let status?):
            // A bare 4xx (`http429`): Graph's generic code 1, at the status asked for.
            var error = GraphError.code(1)
            error.httpStatus = status
            return error
        case (nil, nil): return nil
        }
    }

    /// A short name for stats and metrics: the code, `http_503` or `delay`.
    var label: String {
        if let code { return String(code) }
        if let httpStatus { return "http_\(httpStatus)" }
        return "delay"
    }
}

/// Faults for recipients whose `wa_id` matches a glob (`*` any digits, `?` one digit):
/// deterministic. `times` limits the fault to the first N matching sends per recipient.
public struct FaultRule: Codable, Sendable, Equatable {
    public var match: String
    public var times: Int?
    public var action: FaultAction

    public init(match: String, times: Int? = nil, action: FaultAction) {
        self.match = match
        self.times = times
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case match, times
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        match = try c.decode(String.self, forKey: .match)
        times = try c.decodeIfPresent(Int.self, forKey: .times)
        action = try FaultAction(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try action.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(match, forKey: .match)
        try c.encodeIfPresent(times, forKey: .times)
    }
}

/// Faults for a random fraction of all sends (reproducible with a seed).
public struct RateFault: Codable, Sendable, Equatable {
    public var fraction: Double
    public var action: FaultAction

    public init(fraction: Double, action: FaultAction) {
        self.fraction = fraction
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case fraction
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fraction = try c.decode(Double.self, forKey: .fraction)
        guard (0...1).contains(fraction) else {
            throw DecodingError.dataCorruptedError(forKey: .fraction, in: c, debugDescription: "must be in 0...1")
        }
        action = try FaultAction(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try action.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fraction, forKey: .fraction)
    }
}

/// Everything that makes the simulator misbehave on purpose: `SIMULATOR_FAULTS`,
/// SIMULATOR_SHUFFLE_STATUSES / SIMULATOR_DUPLICATE_STATUSES at start, `POST /_sim/faults` at run time.
public struct FaultConfig: Codable, Sendable, Equatable {
    /// Checked in order; the first rule that matches (and has sends left) applies.
    public var rules: [FaultRule]
    /// Rolled only when no rule applied; their fractions add up (at most 1).
    public var rates: [RateFault]
    /// Post each sequence of status webhooks in a random order.
    public var shuffleStatuses: Bool
    /// Fraction (0…1) of status webhooks posted twice.
    public var duplicateStatuses: Double
    /// Seed of the random choices (rates, shuffling, duplicates); nil = not reproducible.
    public var seed: UInt64?

    public init(
        rules: [FaultRule] = [], rates: [RateFault] = [], shuffleStatuses: Bool = false,
        duplicateStatuses: Double = 0, seed: UInt64? = nil
    ) {
        self.rules = rules
        self.rates = rates
        self.shuffleStatuses = shuffleStatuses
        self.duplicateStatuses = duplicateStatuses
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case rules, rates, seed
        case shuffleStatuses = "shuffle_statuses"
        case duplicateStatuses = "duplicate_statuses"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decodeIfPresent([FaultRule].self, forKey: .rules) ?? []
        rates = try c.decodeIfPresent([RateFault].self, forKey: .rates) ?? []
        shuffleStatuses = try c.decodeIfPresent(Bool.self, forKey: .shuffleStatuses) ?? false
        duplicateStatuses = try c.decodeIfPresent(Double.self, forKey: .duplicateStatuses) ?? 0
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        try validate(in: c)
    }

    func validate(in c: KeyedDecodingContainer<CodingKeys>) throws {
        guard (0...1).contains(duplicateStatuses) else {
            throw DecodingError.dataCorruptedError(
                forKey: .duplicateStatuses, in: c, debugDescription: "must be in 0...1")
        }
        guard rates.reduce(0, { $0 + $1.fraction }) <= 1 + 1e-9 else {
            throw DecodingError.dataCorruptedError(forKey: .rates, in: c, debugDescription: "fractions add up to > 1")
        }
        for rule in rules where !Glob.isValid(rule.match) {
            throw DecodingError.dataCorruptedError(
                forKey: .rules, in: c, debugDescription: "match '\(rule.match)' is not a glob of digits, * and ?")
        }
    }
}
