/// The status webhooks one accepted send produces, in posting order: `sent → delivered → read`,
/// or `sent → failed` when a fault fails it at status time; optionally each posted twice
/// (at-least-once delivery) and shuffled (Meta does not order them).
public struct StatusPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var status: String
        /// Position in the logical order; timestamps follow it whatever the posting order.
        public var sequence: Int
        /// For `failed`: the error in `errors[]`.
        public var error: GraphError?

        public init(status: String, sequence: Int, error: GraphError? = nil) {
            self.status = status
            self.sequence = sequence
            self.error = error
        }
    }

    public var steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps
    }

    public init(
        failure: GraphError?, shuffle: Bool, duplicate: Double, using random: inout some RandomNumberGenerator
    ) {
        var steps: [Step] = []
        for step in Self.logical(failure: failure) {
            steps.append(step)
            if duplicate > 0 && Double.random(in: 0..<1, using: &random) < duplicate { steps.append(step) }
        }
        if shuffle { steps.shuffle(using: &random) }
        self.steps = steps
    }

    /// The order Meta would ideally deliver them in.
    public static func logical(failure: GraphError?) -> [Step] {
        guard let failure else {
            return ["sent", "delivered", "read"].enumerated().map { Step(status: $0.element, sequence: $0.offset) }
        }
        return [Step(status: "sent", sequence: 0), Step(status: "failed", sequence: 1, error: failure)]
    }
}
