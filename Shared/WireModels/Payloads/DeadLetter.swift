import Foundation

/// `wa.dlq` payload: a record a stage gave up on, with where it came from.
public struct DeadLetter: Codable, Sendable {
    public var stage: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var error: String
    public var attempts: Int
    /// The original record value, as text when it is UTF-8 (it normally is JSON).
    public var value: String

    public init(
        stage: String, topic: String, partition: Int32, offset: Int64, error: String, attempts: Int, value: String
    ) {
        self.stage = stage
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
        self.attempts = attempts
        self.value = value
    }
}
