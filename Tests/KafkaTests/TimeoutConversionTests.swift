import Testing

@testable import Kafka

/// librdkafka reads a timeout of -1 as "wait forever": a deadline that passed a moment ago
/// must become 0 ms, or a poll on an idle topic never returns (and shutdown hangs).
@Suite struct TimeoutConversionTests {
    @Test func negativeDurationsBecomeZeroNeverMinusOne() {
        #expect(KafkaConfig.milliseconds(.microseconds(-1500)) == 0)
        #expect(KafkaConfig.milliseconds(.microseconds(-500)) == 0)
        #expect(KafkaConfig.milliseconds(.seconds(-3)) == 0)
        #expect(KafkaConfig.milliseconds(.zero) == 0)
    }

    @Test func positiveDurationsAreWholeMillisecondsClamped() {
        #expect(KafkaConfig.milliseconds(.microseconds(1500)) == 1)
        #expect(KafkaConfig.milliseconds(.milliseconds(250)) == 250)
        #expect(KafkaConfig.milliseconds(.seconds(Int64.max)) == Int32.max)
    }
}
