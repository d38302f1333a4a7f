import Foundation
import Logging
import Metrics
import Outbound
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import WireModels

/// How fast running campaigns are published (environment, read once at start).
public struct CampaignRolloutSettings: Sendable {
    /// Pause between rollout rounds; each round publishes at most one chunk per campaign.
    public var interval: Duration
    public var chunkSize: Int

    public init(environment: Environment = Environment()) throws {
        interval = .milliseconds(try environment.int("CAMPAIGN_ROLLOUT_INTERVAL_MS", default: 1_000))
        chunkSize = try environment.int("CAMPAIGN_CHUNK_SIZE", default: 200)
        guard chunkSize >= 1, interval > .zero else {
            throw ConfigError("CAMPAIGN_CHUNK_SIZE and CAMPAIGN_ROLLOUT_INTERVAL_MS must be at least 1")
        }
    }
}

/// Publishes running campaigns, a chunk per campaign per round, through the same intake as
/// `POST /messages` (policy gate, mapping, send_requests row, `wa.outbound.request`), so the
/// sender's governor paces them like any send. It runs in the gateway because the gateway owns
/// campaigns and is already the producer of `wa.outbound.request`; every replica runs it, and
/// `FOR UPDATE SKIP LOCKED` on the campaign row gives each campaign's round to one of them.
///
/// Nothing is sent twice: each recipient's request id is `campaign:<id>:<phone>`, so a chunk
/// republished after a crash (published, not yet marked) finds its requests and queues nothing
/// new. A campaign is done when every recipient was published and the sender settled each
/// request (sent, failed or blocked); delivery, read and replies keep updating its report.
public struct CampaignRollout: Service {
    let postgres: PostgresClient
    let intake: SendIntake
    let settings: CampaignRolloutSettings
    let gate: StartupGate
    let logger: Logger
    let published = Counter(label: "crm_campaign_recipients_published_total", dimensions: [("outcome", "queued")])
    let blocked = Counter(label: "crm_campaign_recipients_published_total", dimensions: [("outcome", "blocked")])
    let finished = Counter(label: "crm_campaigns_finished_total")
    let failures = Counter(label: "crm_campaign_rollout_errors_total")
    let stepDuration = Metrics.Timer(label: "crm_campaign_rollout_step_seconds")

    init(
        postgres: PostgresClient, intake: SendIntake, settings: CampaignRolloutSettings, gate: StartupGate,
        logger: Logger
    ) {
        self.postgres = postgres
        self.intake = intake
        self.settings = settings
        self.gate = gate
        self.logger = logger
    }

    public func run() async throws {
        try await PeriodicService("campaign rollout round", every: settings.interval, gate: gate, logger: logger) {
            do {
                try await round()
            } catch {
                failures.increment()
                throw error
            }
            return false
        }.run()
    }

    /// A chunk of every running campaign.
    func round() async throws {
        for id in try await CampaignStore.running(on: postgres, logger: logger) {
            if Task.isShuttingDownGracefully { break }
            do {
                try await step(id)
            } catch {
                // The chunk's transaction rolled back: its recipients stay pending and
                // the next round publishes them again under the same request ids.
                failures.increment()
                logger.error("campaign rollout step failed", metadata: ["campaign_id": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// One chunk of one campaign (or its end), in one transaction holding the campaign row.
    func step(_ id: UUID) async throws {
        let started = ContinuousClock.now
        defer { stepDuration.recordInterval(since: started) }
        try await postgres.transaction(logger: logger) { conn in
            guard let campaign = try await CampaignStore.lockRunning(id, on: conn, logger: logger),
                let launcher = campaign.launchedBy
            else { return }
            let chunk = try await CampaignStore.pending(
                campaignId: id, limit: settings.chunkSize, on: conn, logger: logger)
            let campaignId = id.uuidString.lowercased()
            for recipient in chunk {
                let ask = SendIntake.Ask(
                    requestId: "campaign:\(campaignId):\(recipient.phone)", keyGiven: true, to: recipient.phone,
                    text: nil, template: (campaign.template, campaign.language), variables: recipient.columns,
                    test: false, campaignId: campaignId, phoneNumberId: campaign.phoneNumberId)
                switch try await intake.submit(ask, requester: launcher) {
                case .queued(let requestId):
                    try await CampaignStore.markPublished(
                        campaignId: id, phone: recipient.phone, requestId: requestId, blockedReason: nil, on: conn,
                        logger: logger)
                    published.increment()
                case .blocked(let requestId, let refusal):
                    try await CampaignStore.markPublished(
                        campaignId: id, phone: recipient.phone, requestId: requestId,
                        blockedReason: refusal.description, on: conn, logger: logger)
                    blocked.increment()
                }
            }
            if !chunk.isEmpty {
                logger.debug(
                    "campaign chunk published", metadata: ["campaign_id": "\(id)", "recipients": "\(chunk.count)"])
                return
            }
            guard try await CampaignStore.unsettled(campaignId: id, on: conn, logger: logger) == 0,
                let change = try await CampaignStore.transition(id, .finish, on: conn, logger: logger)
            else { return }
            try await AuditStore.record(
                actor: CampaignsController.systemActor, action: "campaign.done", entity: "campaign",
                entityId: campaignId, before: try change.before.json, after: try change.after.json, on: conn,
                logger: logger)
            finished.increment()
            logger.info("campaign done", metadata: ["campaign_id": "\(id)", "recipients": "\(campaign.recipients)"])
        }
    }
}
