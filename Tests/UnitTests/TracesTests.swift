import Kafka
import Testing

@testable import ServiceKit

/// The ids-only trace propagation (no tracer recording): W3C `traceparent` parsing and the
/// spans a stage adds.
struct TracesTests {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aSpanContinuesItsParentsTraceWithANewSpanIdAndTheSameFlags() {
        let span = RecordSpan("normalize", parent: parent)
        #expect(span.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.traceParent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(span.traceParent.hasSuffix("-01"))
        #expect(!span.traceParent.contains("00f067aa0ba902b7"))
        #expect(Traces.valid(span.traceParent))
        #expect(span.headers == [KafkaHeader(key: "traceparent", value: Array(span.traceParent.utf8))])
        #expect(span.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func withoutAUsableParentASpanStartsANewUnsampledTrace() {
        for bad in [
            nil, "", "garbage", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            let span = RecordSpan("webhook receive", parent: bad)
            #expect(Traces.valid(span.traceParent), "\(span.traceParent)")
            #expect(span.traceParent.hasSuffix("-00"))
            #expect(span.traceId != "4bf92f3577b34da6a3ce929d0e0e4736")
        }
        let a = RecordSpan("x", parent: nil)
        let b = RecordSpan("x", parent: nil)
        #expect(a.traceId != b.traceId)
    }

    @Test func recordsCarryTheirTraceInAHeaderAndStoredOnesAreCheckedBeforeUse() {
        let record = KafkaRecord(
            topic: "t", partition: 0, offset: 1, key: nil, value: [],
            headers: [KafkaHeader(key: "traceparent", value: Array(parent.utf8))])
        #expect(Traces.traceParent(in: record.headers) == parent)
        #expect(RecordSpan("match", record: record).traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(Traces.traceParent(in: [KafkaHeader(key: "traceparent", value: Array("nope".utf8))]) == nil)
        #expect(Traces.headers(traceParent: nil).isEmpty)
        #expect(Traces.headers(traceParent: "nope").isEmpty)
        #expect(Traces.headers(traceParent: parent).count == 1)
        #expect(Traces.traceId(parent) == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(Traces.traceId("nope") == nil)
        #expect(Traces.currentTraceParent().map(Traces.valid) == true)
    }
}
