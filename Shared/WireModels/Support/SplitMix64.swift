/// A small seedable generator, so that shuffles, faults and generated data repeat with a seed
/// (the simulator's faults, property tests, the reports tests' event order).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    /// The seed it started from, to name in a failure message.
    public let seed: UInt64

    public init(seed: UInt64) {
        state = seed
        self.seed = seed
    }

    /// Seeded from the system generator when no seed is configured.
    public init(seed: UInt64?) {
        var system = SystemRandomNumberGenerator()
        self.init(seed: seed ?? system.next())
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
