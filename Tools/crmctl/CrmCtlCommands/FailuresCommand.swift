import ArgumentParser
import Foundation
import Kafka
import ServiceKit
import Storage
import WireModels

struct FailuresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failures", abstract: "Records a stage dead-lettered (also on wa.dlq).",
        subcommands: [List.self, ReplayOne.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List failures, newest first.")
        @Option(help: "Only this stage (normalizer, crm-matcher, sender, reporter).") var stage: String?
        @Option(help: "Only open, replayed or resolved.") var state: String?
        @Option(help: "How many.") var limit: Int = 50

        func run() async throws {
            let (config, logger) = try setUp()
            let rows = try await withPostgres(config, logger: logger) { client in
                try await FailureStore.list(
                    stage: stage, since: nil, state: state, before: nil, limit: limit, on: client, logger: logger)
            }
            if rows.isEmpty { print("no failures") }
            for r in rows {
                print(
                    "\(r.id)\t\(r.state)\t\(r.stage)\t\(r.topic)[\(r.partition)]@\(r.offset)\t\(r.eventId ?? "-")\t"
                        + "attempts=\(r.attempts)\tlast=\(RFC3339.string(from: r.lastAt))\t\(r.error)")
            }
        }
    }

    struct ReplayOne: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay", abstract: "Publish a failed record again to its original topic and key.")
        @Argument(help: "Failure id (from `crmctl failures list`).") var id: Int64

        func run() async throws {
            let (config, logger) = try setUp()
            let producer = try KafkaProducer(config.producerConfig(), logger: logger)
            let outcome = try await withPostgres(config, logger: logger) { client in
                try await Replay.failure(
                    id: id, postgres: client, producer: producer, topics: config.topics, logger: logger)
            }
            await producer.shutdown(timeout: .seconds(10))
            switch outcome {
            case .replayed(let row): print("replayed failure \(row.id) to \(row.topic)")
            case .notFound: throw ValidationError("no failure \(id)")
            case .notReplayable(let why): throw ValidationError(why)
            }
        }
    }
}

struct ReplayWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-publish archived raw webhooks received in [--since, --until) for processing again.",
        discussion: """
            Use it when events were lost or wrong downstream of the archive: the local broker restarted \
            before everything was consumed, a database was restored to an earlier point, or a normalizer \
            bug was fixed. Every consumer is idempotent on event ids, so rows that already exist are left \
            as they are and only what is missing is filled in.
            """)
    @Option(help: "RFC 3339 start (inclusive), e.g. 2026-11-25T00:00:00Z.") var since: String
    @Option(help: "RFC 3339 end (exclusive); default now.") var until: String?

    func run() async throws {
        guard let from = RFC3339.date(from: since) else { throw ValidationError("--since must be RFC 3339") }
        let to =
            try until.map { value in
                guard let d = RFC3339.date(from: value) else { throw ValidationError("--until must be RFC 3339") }
                return d
            } ?? Date()
        let (config, logger) = try setUp()
        let producer = try KafkaProducer(config.producerConfig(), logger: logger)
        let count = try await withPostgres(config, logger: logger, timeout: .seconds(3600)) { client in
            try await Replay.webhooks(
                since: from, until: to, postgres: client, producer: producer, topics: config.topics, logger: logger)
        }
        await producer.shutdown(timeout: .seconds(30))
        print("re-published \(count) archived webhook bodies")
    }
}
