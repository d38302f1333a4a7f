import CRMCore
import Foundation
import Kafka
import Logging
import Outbound
import PostgresNIO
import ServiceKit
import Storage
import WireModels

/// One attempt at one send request, whoever picked it up (the `wa.outbound.request` consumer
/// for first attempts, the retry-queue poller for later ones):
/// policy gate → governor → Cloud API → record the attempt and decide what happens next.
/// Nothing here waits long: a delay beyond the governor's inline wait becomes a row in the
/// retry queue (`send_requests.next_attempt_at`), so one recipient's back-off never holds
/// another recipient's send.
public struct SendExecutor: Sendable {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let graph: GraphClient
    let governor: Governor
    let numbers: NumberSettingsCache
    let defaultPhoneNumberId: String
    let defaultWabaId: String?
    let topics: Topics
    let settings: SenderSettings
    let logger: Logger

    public init(context: WorkerContext, graph: GraphClient, settings: SenderSettings) throws {
        guard let phoneNumberId = context.config.whatsapp.phoneNumberId else {
            throw SendHandler.NotConfigured(description: "sender needs WHATSAPP_PHONE_NUMBER_ID")
        }
        postgres = context.postgres
        producer = context.producer
        self.graph = graph
        governor = Governor(postgres: context.postgres, logger: context.logger)
        numbers = NumberSettingsCache(
            postgres: context.postgres, defaultWabaId: context.config.whatsapp.wabaId, logger: context.logger)
        defaultPhoneNumberId = phoneNumberId
        defaultWabaId = context.config.whatsapp.wabaId
        topics = context.config.topics
        self.settings = settings
        logger = context.logger
    }

    /// One attempt for each claimed request. A recipient's requests go in order, one per
    /// round; within a round every step is done for the whole round at once (policy facts,
    /// governor slots, the recording of sends), so PostgreSQL round trips are per round, not
    /// per send, and the number's pace sets the throughput.
    func attempt(_ claimed: [SendStore.Claimed]) async throws {
        for round in Self.rounds(claimed) { try await attemptRound(round) }
    }

    /// Splits requests into rounds with at most one request per recipient, keeping each
    /// recipient's order.
    static func rounds(_ claimed: [SendStore.Claimed]) -> [[SendStore.Claimed]] {
        var rounds: [[SendStore.Claimed]] = []
        var seen: [String: Int] = [:]
        for item in claimed {
            let index = seen[item.request.to, default: 0]
            seen[item.request.to] = index + 1
            if index == rounds.count { rounds.append([]) }
            rounds[index].append(item)
        }
        return rounds
    }

    /// A request that passed the policy gate, on its way to the Cloud API.
    struct Admitted: Sendable {
        var claimed: SendStore.Claimed
        var plan: SendPlan
        var number: NumberSettings
        var log: Logger
        var attempt: Int { claimed.attempts + 1 }
    }

    func attemptRound(_ round: [SendStore.Claimed]) async throws {
        var numbers: [String: NumberSettings] = [:]
        for id in Set(round.map { $0.request.phoneNumberId ?? defaultPhoneNumberId }) {
            numbers[id] = try await self.numbers.get(id)
        }
        func number(_ r: OutboundRequest) -> NumberSettings { numbers[r.phoneNumberId ?? defaultPhoneNumberId]! }

        // 1. Policy gate, again: the facts may have changed since the API checked them.
        let verdicts = try await PolicyGate.checkMany(
            round.map { ($0.request, number($0.request).wabaId) }, on: postgres, logger: logger)
        var admitted: [String: [Admitted]] = [:]
        for (item, verdict) in zip(round, verdicts) {
            var log = logger
            log[metadataKey: "event_id"] = "\(item.request.requestId)"
            if let trace = Traces.traceId(item.traceParent) { log[metadataKey: "trace_id"] = "\(trace)" }
            switch verdict {
            case .failure(let refusal):
                try await blocked(item, refusal: refusal, log: log)
            case .success(let plan):
                let n = number(item.request)
                admitted[n.phoneNumberId, default: []].append(Admitted(claimed: item, plan: plan, number: n, log: log))
            }
        }

        // 2. Governor, per number: pair rate, tier budget (business-initiated only), the number's pace.
        var slotted: [(Admitted, Date)] = []
        for (phoneNumberId, sends) in admitted {
            let verdicts = try await governor.admit(
                number: numbers[phoneNumberId]!,
                sends: sends.map {
                    ($0.plan.request.to, $0.plan.isTemplate && !$0.plan.recipient.insideServiceWindow())
                })
            for (send, verdict) in zip(sends, verdicts) {
                switch verdict {
                case .deferred(let until, let reason):
                    let limit =
                        reason.hasPrefix("pair") ? "pair" : reason.hasPrefix("messaging tier") ? "tier" : "number"
                    SenderMetrics.governorWait(limit: limit, seconds: until.timeIntervalSinceNow)
                    try await schedule(
                        send.plan.request, attempt: send.attempt, http: nil, error: nil,
                        decision: "deferred: \(reason)", at: until, calledAPI: false, log: send.log)
                    SenderMetrics.send(outcome: "deferred", decision: limit)
                case .sendAt(let at):
                    slotted.append((send, at))
                }
            }
        }

        // 3. The Cloud API calls, each at its slot, in waves of nearby slots: each wave is
        // marked on its rows just before its calls (`markCalling`), so a crash leaves few
        // marked-but-unmade calls. A send whose lease is gone is not called: the sweeper owns it.
        let answers = await withTaskGroup(of: (Admitted, GraphClient.Outcome, Date).self) { group in
            for wave in Self.waves(slotted, width: Self.waveWidth) {
                if let first = wave.first?.1, first.timeIntervalSinceNow > 0 {
                    try? await Task.sleep(for: .milliseconds(Int(first.timeIntervalSinceNow * 1000)))
                }
                for (send, at) in await mark(wave) {
                    group.addTask {
                        let wait = at.timeIntervalSinceNow
                        SenderMetrics.governorWait(limit: "number", seconds: wait)
                        if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                        // The Cloud API call is the send's span in its trace.
                        let span = RecordSpan("POST /messages", kind: .client, parent: send.claimed.traceParent)
                        defer { span.end() }
                        do {
                            SenderMetrics.graphCall(phoneNumberId: send.number.phoneNumberId)
                            let outcome = try await call(send.plan, phoneNumberId: send.number.phoneNumberId)
                            span.setAttribute("crm.send.outcome", outcome.label)
                            return (send, outcome, Date())
                        } catch {
                            // The body could not be built: nothing was sent.
                            return (send, .unreachable("\(error)"), Date())
                        }
                    }
                }
            }
            var answers: [(Admitted, GraphClient.Outcome, Date)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }

        // 4. Record and decide: the accepted ones together, the others one by one.
        var accepted: [(send: Admitted, wamid: String, waId: String?, at: Date)] = []
        for (send, outcome, at) in answers {
            switch outcome {
            case .accepted(let wamid, let waId):
                accepted.append((send, wamid, waId, at))
            case .rejected(let http, let error):
                try await failed(
                    send.plan.request, number: send.number, attempt: send.attempt,
                    httpAttempts: send.claimed.httpAttempts + 1, http: http, error: error,
                    trace: send.claimed.traceParent, log: send.log)
            case .unreachable(let reason):
                let error = WhatsAppError(
                    code: 2, title: "unreachable", message: "Graph API unreachable: \(reason)", details: nil)
                try await failed(
                    send.plan.request, number: send.number, attempt: send.attempt,
                    httpAttempts: send.claimed.httpAttempts + 1, http: nil, error: error,
                    trace: send.claimed.traceParent, log: send.log)
            case .ambiguous(let reason):
                try await unknown(send, reason: reason)
            }
        }
        try await recordSent(accepted)
    }

    /// Slots this close together are marked in one statement.
    static let waveWidth: TimeInterval = 0.1

    /// Slotted sends in slot order, cut into waves no wider than `width` seconds.
    static func waves<T>(_ slotted: [(T, Date)], width: TimeInterval) -> [[(T, Date)]] {
        var waves: [[(T, Date)]] = []
        for item in slotted.sorted(by: { $0.1 < $1.1 }) {
            if let start = waves.last?.first?.1, item.1.timeIntervalSince(start) <= width {
                waves[waves.count - 1].append(item)
            } else {
                waves.append([item])
            }
        }
        return waves
    }

    /// The sends of `wave` that may be called now: marked on their rows under this sender's
    /// live lease. If the mark cannot be written, none is called; their leases expire
    /// uncalled and the sweeper puts them back in the retry queue.
    func mark(_ wave: [(Admitted, Date)]) async -> [(Admitted, Date)] {
        let calls = wave.map { send, _ in
            SendStore.Call(
                requestId: send.plan.request.requestId, message: Self.outboundMessage(send, wamid: "", waId: nil))
        }
        let ids = calls.map(\.requestId)
        do {
            let marked = try await SendStore.markCalling(
                calls, owner: settings.owner, margin: settings.callMargin, on: postgres, logger: logger)
            if marked.count < wave.count {
                logger.warning(
                    "sends not called: their lease expired before the call",
                    metadata: ["event_ids": "\(ids.filter { !marked.contains($0) })"])
            }
            return wave.filter { marked.contains($0.0.plan.request.requestId) }
        } catch {
            logger.error(
                "sends not called: marking the calls failed",
                metadata: ["event_ids": "\(ids)", "error": "\(ErrorText.describe(error))"])
            return []
        }
    }

    func blocked(_ item: SendStore.Claimed, refusal: Refusal, log: Logger) async throws {
        try await postgres.transaction(logger: log) { conn in
            try await SendStore.block(
                requestId: item.request.requestId, reason: refusal.description, on: conn, logger: log)
        }
        SenderMetrics.send(outcome: "blocked", decision: refusal.code)
        try await publish(
            OutboundResult(
                requestId: item.request.requestId, attempt: item.attempts + 1, state: "blocked", wamid: nil, waId: nil,
                error: WhatsAppError(code: 0, title: refusal.code, message: refusal.message, details: nil)),
            trace: item.traceParent)
        log.notice("send blocked by policy", metadata: ["reason": "\(refusal)"])
    }

    func call(_ plan: SendPlan, phoneNumberId: String) async throws -> GraphClient.Outcome {
        let request = plan.request
        if let template = plan.template {
            return try await graph.sendTemplate(
                phoneNumberId: phoneNumberId, to: request.to, name: template.name, language: template.language,
                components: TemplateComponents.build(template, values: plan.values), callbackData: request.requestId)
        }
        return try await graph.sendText(
            phoneNumberId: phoneNumberId, to: request.to, text: request.text ?? "", callbackData: request.requestId)
    }

    /// Meta accepted these: one transaction records the attempts, finds or creates the
    /// recipients' contacts and inserts the outbound messages (replaying statuses that came
    /// first). The calls are made, so a failing write is retried on its own for as long as the
    /// lease lasts; if it still fails the batch fails, and its redelivery claims nothing (the
    /// rows are still `sending` under this lease). The sweeper then makes them `unknown`, and
    /// their status webhooks settle them as sent: Meta is never called twice for them.
    func recordSent(_ accepted: [(send: Admitted, wamid: String, waId: String?, at: Date)]) async throws {
        guard !accepted.isEmpty else { return }
        let attempts = accepted.map {
            SendStore.SentAttempt(
                requestId: $0.send.plan.request.requestId, attempt: $0.send.attempt, wamid: $0.wamid, at: $0.at)
        }
        let messages = accepted.map { Self.outboundMessage($0.send, wamid: $0.wamid, waId: $0.waId) }
        let deadline = ContinuousClock.now + settings.lease
        var failures = 0
        while true {
            do {
                try await postgres.transaction(logger: logger) { conn in
                    try await SendStore.storeSent(attempts, messages: messages, on: conn, logger: self.logger)
                }
                break
            } catch {
                failures += 1
                let delay = RetryPolicy().delay(afterAttempt: failures)
                guard ContinuousClock.now + delay < deadline, !Task.isCancelled else { throw error }
                logger.warning(
                    "recording sent messages failed; retrying",
                    metadata: [
                        "sends": "\(accepted.count)", "attempt": "\(failures)", "error": "\(ErrorText.describe(error))",
                    ])
                try await Task.sleep(for: delay)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sent in accepted {
                group.addTask {
                    let request = sent.send.plan.request
                    SenderMetrics.send(outcome: "sent", decision: "sent")
                    try await publish(
                        OutboundResult(
                            requestId: request.requestId, attempt: sent.send.attempt, state: "sent", wamid: sent.wamid,
                            waId: sent.waId, error: nil), trace: sent.send.claimed.traceParent)
                    // A pair that was limited before is clear again (4^n starts over).
                    if sent.send.claimed.attempts > 0 {
                        try await governor.pairDelivered(sent.send.number.phoneNumberId, waId: request.to)
                    }
                    sent.send.log.info("sent", metadata: ["wamid": "\(sent.wamid)"])
                }
            }
            try await group.waitForAll()
        }
    }

    /// The call may have reached Meta, which then sends the message: the request waits in
    /// `unknown` for a status webhook carrying its id (`SendSweeper`), and is never retried blindly.
    func unknown(_ send: Admitted, reason: String) async throws {
        let request = send.plan.request
        let error = WhatsAppError(
            code: 2, title: "unknown_outcome", message: "no answer from Meta: \(reason)", details: nil)
        try await postgres.transaction(logger: send.log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: send.attempt, httpStatus: nil, error: error, retryable: false,
                decision: "unknown: \(reason); waiting for a status from Meta", newState: "unknown", wamid: nil,
                on: conn, logger: send.log)
        }
        SenderMetrics.send(outcome: "unknown", decision: "ambiguous")
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: send.attempt, state: "unknown", wamid: nil, waId: nil,
                error: error), trace: send.claimed.traceParent)
        send.log.warning("send outcome unknown; waiting for Meta's status", metadata: ["reason": "\(reason)"])
    }

    static func outboundMessage(_ send: Admitted, wamid: String, waId: String?) -> MessageStore.Outbound {
        let plan = send.plan
        let request = plan.request
        let rendered = plan.template.map { TemplateComponents.render($0, values: plan.values) }
        let content: JSONValue? = plan.template.map { template in
            .object([
                "template": .object([
                    "name": .string(template.name), "language": .string(template.language),
                    "category": template.category.map(JSONValue.string) ?? .null,
                    "components": .array(TemplateComponents.build(template, values: plan.values)),
                ])
            ])
        }
        return MessageStore.Outbound(
            wamid: wamid, contactId: nil, phoneNumberId: send.number.phoneNumberId, toWaId: waId ?? request.to,
            type: plan.template == nil ? "text" : "template", text: rendered?.text ?? request.text,
            sendRequestId: request.requestId, template: plan.template?.name, campaignId: request.campaignId,
            content: content, wabaId: send.number.wabaId, traceParent: send.claimed.traceParent)
    }

    /// Applies the error policy to a rejected (or unanswered) call.
    func failed(
        _ request: OutboundRequest, number: NumberSettings, attempt: Int, httpAttempts: Int, http: Int?,
        error: WhatsAppError, trace: String?, log: Logger
    ) async throws {
        let decision = ErrorPolicy.decide(code: http == nil ? nil : error.code, httpStatus: http)
        SenderMetrics.graphError(
            phoneNumberId: number.phoneNumberId, code: http == nil ? "unreachable" : "\(error.code)")
        let now = Date()
        switch decision {
        case .permanent:
            try await settleFailed(
                request, attempt: attempt, http: http, error: error, decision: decision.label, trace: trace, log: log)
        case .retry(let maxAttempts):
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: maxAttempts, http: http,
                error: error, decision: decision.label,
                at: now.addingTimeInterval(ErrorPolicy.backoff(attempt: httpAttempts)),
                trace: trace, log: log)
        case .backOffNumber(let pause, let maxAttempts):
            try await governor.pause(number.phoneNumberId, for: pause, reason: "Meta error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: maxAttempts, http: http,
                error: error, decision: decision.label,
                at: now.addingTimeInterval(pause + ErrorPolicy.backoff(attempt: 1) * 0.25), trace: trace, log: log)
        case .pairLimited:
            let hits = try await governor.pairLimited(number.phoneNumberId, waId: request.to)
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 8, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(ErrorPolicy.pairBackoff(hits: hits)), trace: trace,
                log: log)
        case .refreshAndAlert(let pause):
            // Credentials come from the environment/secret: alert so an operator rotates them;
            // the number pauses so we do not hammer Meta with a dead token meanwhile.
            SenderMetrics.alert("auth_failed")
            log.critical(
                "ALERT: the Graph API rejected the access token; rotate WHATSAPP_ACCESS_TOKEN",
                metadata: ["error_code": "\(error.code)", "phone_number_id": "\(number.phoneNumberId)"])
            try await governor.pause(number.phoneNumberId, for: pause, reason: "auth error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 3, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(pause), trace: trace, log: log)
        case .haltNumber(let pause):
            SenderMetrics.alert("number_halted")
            log.critical(
                "ALERT: Meta refuses sends from this number (account locked, policy, payment or registration)",
                metadata: ["error_code": "\(error.code)", "phone_number_id": "\(number.phoneNumberId)"])
            try await governor.pause(number.phoneNumberId, for: pause, reason: "halted: error \(error.code)")
            try await retryOrDeadLetter(
                request, attempt: attempt, httpAttempts: httpAttempts, maxAttempts: 2, http: http, error: error,
                decision: decision.label, at: now.addingTimeInterval(pause), trace: trace, log: log)
        }
    }

    func retryOrDeadLetter(
        _ request: OutboundRequest, attempt: Int, httpAttempts: Int, maxAttempts: Int, http: Int?, error: WhatsAppError,
        decision: String, at: Date, trace: String?, log: Logger
    ) async throws {
        guard httpAttempts < maxAttempts else {
            try await settleFailed(
                request, attempt: attempt, http: http, error: error,
                decision: "\(decision); dead-lettered after \(httpAttempts) attempts", trace: trace, log: log)
            try await deadLetter(request, error: error, attempts: httpAttempts)
            SenderMetrics.send(outcome: "dead_lettered", decision: decision)
            return
        }
        try await schedule(
            request, attempt: attempt, http: http, error: error, decision: decision, at: at, calledAPI: true, log: log)
        SenderMetrics.send(outcome: "retrying", decision: decision)
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "retrying", wamid: nil, waId: nil, error: error),
            trace: trace)
    }

    func schedule(
        _ request: OutboundRequest, attempt: Int, http: Int?, error: WhatsAppError?, decision: String, at: Date,
        calledAPI: Bool, log: Logger
    ) async throws {
        try await postgres.transaction(logger: log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http, error: error, retryable: true,
                decision: decision, newState: "retrying", wamid: nil, nextAttemptAt: at, calledAPI: calledAPI,
                on: conn, logger: log)
        }
        log.info(
            "send delayed",
            metadata: ["decision": "\(decision)", "next_attempt_at": "\(RFC3339.string(from: at))"])
    }

    func settleFailed(
        _ request: OutboundRequest, attempt: Int, http: Int?, error: WhatsAppError, decision: String, trace: String?,
        log: Logger
    ) async throws {
        try await postgres.transaction(logger: log) { conn in
            try await SendStore.recordAttempt(
                requestId: request.requestId, attempt: attempt, httpStatus: http, error: error, retryable: false,
                decision: decision, newState: "failed", wamid: nil, on: conn, logger: log)
        }
        SenderMetrics.send(outcome: "failed", decision: decision)
        // Listed and replayable like any dead letter (`GET /failures?stage=send`); a replay goes
        // through the same claim, once.
        try await FailureStore.record(
            .forSend(
                requestId: request.requestId, to: request.to, error: "error \(error.code): \(error.message ?? "")",
                attempts: 1, envelope: try envelope(request).encoded()),
            on: postgres, logger: log)
        try await publish(
            OutboundResult(
                requestId: request.requestId, attempt: attempt, state: "failed", wamid: nil, waId: nil, error: error),
            trace: trace)
        log.warning("send failed", metadata: ["error_code": "\(error.code)", "decision": "\(decision)"])
    }

    /// The request as `wa.outbound.request` carries it.
    func envelope(_ request: OutboundRequest) -> EventEnvelope<OutboundRequest> {
        EventEnvelope(
            eventId: request.requestId, type: EventTypes.outboundRequest, occurredAt: .now, source: "sender",
            payload: request)
    }

    /// After the last attempt: the request goes to `wa.dlq` (keyed by recipient, like its topic).
    func deadLetter(_ request: OutboundRequest, error: WhatsAppError, attempts: Int) async throws {
        let value = String(decoding: try JSONCoding.encoder().encode(request), as: UTF8.self)
        let letter = DeadLetter(
            stage: "sender", topic: Topics.outboundRequest, partition: -1, offset: -1,
            error: "error \(error.code): \(error.message ?? "")", attempts: attempts, value: value)
        let envelope = EventEnvelope(
            eventId: request.requestId, type: EventTypes.deadLetter, occurredAt: .now, source: "sender", payload: letter
        )
        try await producer.send(
            OutgoingRecord(
                topic: topics.name(Topics.deadLetter), key: Array(request.to.utf8), value: try envelope.encoded()))
    }

    /// `trace`: the send's trace, which the result continues.
    func publish(_ result: OutboundResult, trace: String?) async throws {
        try await producer.send(
            OutgoingRecord.traced(
                topic: topics.name(Topics.outboundResult), key: result.requestId,
                envelope: EventEnvelope(
                    eventId: "\(result.requestId):\(result.attempt)", type: EventTypes.outboundResult,
                    occurredAt: .now, source: "sender", payload: result),
                traceParent: trace))
    }
}
