import Kafka
import Testing

/// `statistics.interval.ms`: the broker latency lines come from librdkafka's statistics JSON
/// (this one trimmed from a gateway producer under `make bench-ingest`).
struct KafkaStatisticsTests {
    static let sample = #"""
        {"name":"gateway#producer-1","client_id":"gateway","type":"producer","ts":1,
         "brokers":{
          "127.0.0.1:19292/bootstrap":{"name":"127.0.0.1:19292/bootstrap","nodeid":-1,"tx":2,
            "rtt":{"p50":0,"p99":0},"int_latency":{"p50":0,"p99":0}},
          "127.0.0.1:19292/111":{"name":"127.0.0.1:19292/111","nodeid":111,"tx":4407,"txretries":0,
            "rtt":{"min":8,"max":82864,"avg":4922,"p50":1519,"p99":38143,"cnt":647},
            "int_latency":{"min":3,"max":90000,"p50":2300,"p99":37375,"cnt":9000}}},
         "topics":{}}
        """#

    @Test func eachBrokerGivesItsRoundTripAndQueueLatencyInMilliseconds() throws {
        let brokers = BrokerLatency.parse(Array(Self.sample.utf8))
        #expect(brokers.map(\.broker) == ["127.0.0.1:19292/111"])
        let broker = try #require(brokers.first)
        #expect(broker.client == "gateway" && broker.requests == 4407)
        #expect([broker.rttP50Ms, broker.rttP99Ms] == [1.519, 38.143])
        #expect([broker.queueP50Ms, broker.queueP99Ms] == [2.3, 37.375])
        #expect(BrokerLatency.parse(Array("not json".utf8)).isEmpty)
    }
}
