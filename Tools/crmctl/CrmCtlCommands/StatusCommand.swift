import ArgumentParser
import CRMCore
import Foundation
import Kafka
import Outbound
import ServiceKit
import Storage
import WireModels

/// `crmctl status`: the operator's one screen — each stage's lag and oldest unprocessed record
/// (measured from the broker, so a stopped stage shows), then what waits in PostgreSQL
/// (`BacklogReport`), and the last errors.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Lag per stage, unsettled sends and the retry queue, scheduler, campaigns, webhooks, failures.")
    @Flag(help: "JSON instead of the screen.") var json = false
    @Option(help: "How many recent open failures to show.") var errors: Int = 5

    func run() async throws {
        let (config, logger) = try setUp()
        let (groups, stageOf) = ConsumerGroups.groups(config)
        let backlog = try await withPostgres(config, logger: logger) { client in
            try await BacklogReport.read(
                defaultMPS: NumberSettings.defaultMPS, recentFailures: errors, on: client, logger: logger)
        }
        var lag: [StatusScreen.StageLag] = []
        var lagError: String?
        do {
            let admin = try KafkaAdminClient(config.kafkaClient, logger: logger)
            defer { admin.shutdown() }
            let rows = try await admin.measureLag(groups: groups, timeout: .seconds(5))
            lag = StatusScreen.stages(rows, stageOf: stageOf, now: Date())
        } catch {
            lagError = "\(error)"
        }
        if json {
            let encoder = JSONCoding.encoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let body = StatusScreen.Report(stages: lag, lagError: lagError, backlog: backlog)
            print(String(decoding: try encoder.encode(body), as: UTF8.self))
        } else {
            print(StatusScreen.render(stages: lag, lagError: lagError, backlog: backlog), terminator: "")
        }
    }
}

/// Formats the status screen (pure, unit-tested).
enum StatusScreen {
    struct StageLag: Sendable, Equatable, Encodable {
        var stage: String
        var lag: Int64
        /// Age of the oldest unprocessed record in seconds; 0 when nothing waits.
        var oldestSeconds: Double

        enum CodingKeys: String, CodingKey {
            case stage, lag
            case oldestSeconds = "oldest_unprocessed_seconds"
        }
    }

    struct Report: Encodable {
        var stages: [StageLag]
        var lagError: String?
        var backlog: Backlog

        enum CodingKeys: String, CodingKey {
            case stages, backlog
            case lagError = "lag_error"
        }
    }

    /// Partition rows summed per stage, oldest record per stage.
    static func stages(_ rows: [GroupPartitionLag], stageOf: [String: String], now: Date) -> [StageLag] {
        var byStage: [String: StageLag] = [:]
        for row in rows {
            let stage = stageOf[row.group] ?? row.group
            var item = byStage[stage] ?? StageLag(stage: stage, lag: 0, oldestSeconds: 0)
            item.lag += max(0, row.lag)
            item.oldestSeconds = max(item.oldestSeconds, row.oldestUnprocessedAge(at: now))
            byStage[stage] = item
        }
        return byStage.values.sorted { $0.stage < $1.stage }
    }

    static func render(stages: [StageLag], lagError: String?, backlog: Backlog) -> String {
        var out = "STAGES (lag from the broker)\n"
        if let lagError {
            out += "  broker unreachable: \(lagError)\n"
        } else if stages.isEmpty {
            out += "  no consumer groups yet\n"
        }
        for s in stages {
            let flag = s.oldestSeconds > 300 ? "  STALLED" : s.oldestSeconds > 60 ? "  behind" : ""
            out += "  " + pad(s.stage, 26) + pad("lag \(s.lag)", 14) + "oldest \(duration(s.oldestSeconds))\(flag)\n"
        }
        let sends = backlog.sends
        out += "\nSENDS\n"
        out += "  queued \(sends.queued)   sending \(sends.sending)   unknown \(sends.unknown)\n"
        out +=
            "  retry queue \(sends.retrying) (due now \(sends.retryingDue), oldest \(duration(sends.oldestRetryingSeconds)))\n"
        for n in backlog.numbers {
            let pause =
                n.pausedSeconds > 0
                ? "   PAUSED \(duration(n.pausedSeconds)) (\(n.pauseReason ?? "no reason"))" : ""
            out += "  number \(n.phoneNumberId): \(n.messagesPerSecond) msg/s\(pause)\n"
        }
        let jobs = backlog.scheduler
        out += "\nSCHEDULER\n"
        out += "  pending \(jobs.pending)   due \(jobs.due)   overdue \(jobs.overdue)"
        out += jobs.overdue > 0 ? " (oldest \(duration(jobs.oldestOverdueSeconds)) late)" : ""
        out += "   expired leases \(jobs.expiredLeases)\n"
        out += "\nCAMPAIGNS (running or paused)\n"
        if backlog.campaigns.isEmpty { out += "  none\n" }
        for c in backlog.campaigns {
            let percent = Int((c.progress * 100).rounded(.down))
            let sends = c.sends.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out += "  \(c.name) [\(c.state)] \(percent)% of \(c.recipients): pending \(c.pending)"
            out += sends.isEmpty ? "\n" : ", \(sends)\n"
            if !c.failuresByCode.isEmpty {
                let codes = c.failuresByCode.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }
                out += "    failed by code: \(codes.joined(separator: ", "))\n"
            }
        }
        out += "\nOUTBOUND WEBHOOKS (deliveries waiting)\n"
        let waiting = backlog.endpoints.filter { $0.pending > 0 }
        if waiting.isEmpty { out += "  none\n" }
        for e in waiting {
            out += "  \(e.host): \(e.pending) waiting, oldest \(duration(e.oldestPendingSeconds))\n"
        }
        out += "\nFAILURES (open)\n"
        let open = backlog.openFailures.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        out += open.isEmpty ? "  none\n" : "  " + open.map { "\($0.key) \($0.value)" }.joined(separator: "   ") + "\n"
        for f in backlog.recentFailures {
            out += "  #\(f.id) \(RFC3339.string(from: f.lastAt)) \(f.stage) \(f.eventId ?? "-"): \(oneLine(f.error))\n"
        }
        return out
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// 0s, 45s, 3m 20s, 2h 5m, 3d 4h.
    static func duration(_ seconds: Double) -> String {
        let s = Int(max(0, seconds).rounded(.down))
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m \(s % 60)s"
        case ..<86400: return "\(s / 3600)h \(s % 3600 / 60)m"
        default: return "\(s / 86400)d \(s % 86400 / 3600)h"
        }
    }

    /// First line of an error, at most 120 characters.
    static func oneLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.count > 120 ? String(line.prefix(119)) + "…" : line
    }
}
