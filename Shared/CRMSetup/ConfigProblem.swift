import ServiceKit

/// One problem of a config file: which file, where in it (a path like
/// `accounts[0].phone_numbers[1].messages_per_second`, plus the line), and what is wrong.
/// Messages never quote secret values.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        "\(file):\(line.map { "\($0):" } ?? "") \(path.isEmpty ? "(top level)" : path): \(message)"
    }
}

/// Every problem found in a config file (validation never stops at the first one).
public struct ConfigFileError: Error, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String {
        "invalid config file (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}
