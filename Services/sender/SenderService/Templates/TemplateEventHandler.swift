import CRMCore
import Foundation
import Kafka
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// `wa.template.event` → the catalog follows Meta: a `message_template_status_update` sets
/// the template's status at once (a PAUSED or DISABLED template is refused by the policy gate
/// from the next send on), then a full sync picks up anything else that changed. A failed sync
/// is logged, not retried here: the status is already applied and the schedule re-syncs.
public struct TemplateEventHandler: RecordBatchHandler {
    /// Meta's event names that are statuses of their own; others (FLAGGED…) only trigger a sync.
    static let statusEvents: [String: String] = [
        "APPROVED": "APPROVED", "REJECTED": "REJECTED", "PENDING": "PENDING", "PAUSED": "PAUSED",
        "DISABLED": "DISABLED", "REINSTATED": "APPROVED", "PENDING_DELETION": "PENDING_DELETION",
        "DELETED": "DELETED", "IN_APPEAL": "IN_APPEAL", "LIMIT_EXCEEDED": "LIMIT_EXCEEDED",
    ]

    let postgres: PostgresClient
    let sync: TemplateSync?
    let logger: Logger

    public init(context: WorkerContext, sync: TemplateSync?) {
        postgres = context.postgres
        self.sync = sync
        logger = context.logger
    }

    public func handle(_ records: [KafkaRecord]) async throws {
        var resync = false
        for record in records {
            let event = try EventEnvelope<MetaEvent>.decode(record.value).payload
            guard event.field == "message_template_status_update" || event.field == "template_category_update"
            else { continue }
            resync = true
            let value = event.value
            guard event.field == "message_template_status_update",
                let name = value["message_template_name"]?.stringValue,
                let language = value["message_template_language"]?.stringValue,
                let status = value["event"]?.stringValue.flatMap({ Self.statusEvents[$0.uppercased()] })
            else { continue }
            let known = try await TemplateStore.setStatus(
                wabaId: event.wabaId, name: name, language: language, status: status, on: postgres, logger: logger)
            logger.info(
                "template status changed",
                metadata: ["template": "\(name)/\(language)", "status": "\(status)", "known": "\(known)"])
        }
        if resync, let sync {
            do {
                try await sync.run(on: postgres, logger: logger)
            } catch {
                logger.warning("template sync after an event failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
