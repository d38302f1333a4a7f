import Foundation
import Testing
@testable import Kafka

@Suite struct TimingProbe {
    @Test func probe() async throws {
        let env = ProcessInfo.processInfo.environment
        let mock = try KafkaMockCluster(logger: TestSupport.logger())
        let bootstrap = env["PROBE_REAL"] != nil ? env["KAFKA_BROKERS"]! : mock.bootstrapServers
        let topic = TestSupport.unique("probe")
        if env["PROBE_REAL"] != nil {
            try await KafkaAdmin.createTopics([TopicSpec(name: topic, partitions: 1, replicationFactor: -1)], config: ["bootstrap.servers": bootstrap], timeout: .seconds(5), logger: TestSupport.logger())
        } else { try mock.createTopic(topic, partitions: 1) }
        let p = try KafkaProducer(config: ["bootstrap.servers": bootstrap], logger: TestSupport.logger())
        try await p.send(TestSupport.records(topic: topic, count: 10))
        await p.shutdown(timeout: .seconds(2))
        let clock = ContinuousClock(); var t = clock.now
        func lap(_ s: String) { print("PROBE \(s): \(clock.now - t)"); t = clock.now }
        let group = TestSupport.unique("g")
        for i in 0..<2 {
            var cfg = TestSupport.consumerConfig(bootstrap: bootstrap, group: group); if let s = env["PROBE_SESSION"] { cfg["session.timeout.ms"] = s; cfg["heartbeat.interval.ms"] = "200" }
            let c = try KafkaConsumer(config: cfg, topics: [topic], logger: TestSupport.logger())
            lap("\(i) init")
            while c.lag().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            lap("\(i) assigned")
            let r = try await c.poll(maxRecords: 5, timeout: .seconds(10))
            lap("\(i) first poll \(r.count)")
            try c.storeOffsets(for: r)
            await c.close()
            lap("\(i) close")
        }
    }
}
