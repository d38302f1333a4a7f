import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage
import Synchronization
import WireModels

/// Sends queued outbound-webhook deliveries: claims due ones (at most one in flight per
/// endpoint, `concurrency` per process), POSTs each signed with the endpoint's secret, and
/// records every attempt. Failures are retried later with backoff from the queue, never in
/// place, so a failing endpoint delays only its own events.
public struct WebhookDispatcher: Service {
    let postgres: PostgresClient
    let settings: WebhookDeliverySettings
    /// Opens the endpoints' sealed signing secrets (`CRM_SECRET_KEY`).
    let secrets: SecretBox?
    let gate: StartupGate
    let logger: Logger
    let attempts = (
        delivered: Counter(label: "crm_outbound_webhook_attempts_total", dimensions: [("outcome", "delivered")]),
        retry: Counter(label: "crm_outbound_webhook_attempts_total", dimensions: [("outcome", "retry")]),
        failed: Counter(label: "crm_outbound_webhook_attempts_total", dimensions: [("outcome", "failed")])
    )
    let duration = Metrics.Timer(label: "crm_outbound_webhook_request_seconds")

    public init(
        postgres: PostgresClient, settings: WebhookDeliverySettings, secrets: SecretBox?, gate: StartupGate,
        logger: Logger
    ) {
        self.postgres = postgres
        self.settings = settings
        self.secrets = secrets
        self.gate = gate
        self.logger = logger
    }

    public func run() async throws {
        guard try await gate.waitUnlessShuttingDown() else { return }
        // Redirects are not followed: a receiver must answer at the URL it registered.
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let inFlight = InFlightCount()
        let lease = settings.timeout + .seconds(30)
        let leaseMs = Int(lease.components.seconds) * 1000
        // In-flight deliveries finish (each bounded by the timeout) before the group returns.
        await withDiscardingTaskGroup { group in
            await PeriodicService.repeating("webhook delivery claim", every: settings.pollInterval, logger: logger) {
                let free = settings.concurrency - inFlight.value
                guard free > 0 else { return false }
                let claimed = try await WebhookDeliveryStore.claimDue(
                    limit: free, leaseMs: leaseMs, on: postgres, logger: logger)
                for delivery in claimed {
                    inFlight.add(1)
                    group.addTask {
                        await self.deliver(delivery, with: http)
                        inFlight.add(-1)
                    }
                }
                return claimed.count == free
            }
        }
        try? await http.shutdown()
    }

    /// What a failed connection is, in words that reveal nothing about the network.
    static func category(of error: any Error) -> String {
        switch error {
        case let e as HTTPClientError where e == .connectTimeout: return "could not connect (timeout)"
        case let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout:
            return "no answer within the timeout"
        case let e as HTTPClientError where e == .remoteConnectionClosed: return "the connection was closed"
        case is NIOConnectionError: return "could not connect"
        case let e as IOError where e.errnoCode == ECONNREFUSED: return "connection refused"
        case let e as IOError where e.errnoCode == ECONNRESET: return "connection reset"
        case let e as ChannelError:
            if case .connectTimeout = e { return "could not connect (timeout)" }
            return "connection error"
        default:
            let text = "\(error)".lowercased()
            if text.contains("ssl") || text.contains("tls") || text.contains("certificate") { return "TLS error" }
            if text.contains("resolve") || text.contains("dns") || text.contains("lookup") {
                return "could not resolve the host"
            }
            return "connection error"
        }
    }

    func deliver(_ delivery: ClaimedDelivery, with http: HTTPClient) async {
        let log = logger.with([
            "event_id": "\(delivery.eventId)", "webhook_id": "\(delivery.webhookId)", "attempt": "\(delivery.attempt)",
        ])
        let body = Array(delivery.body.utf8)
        let secret: String
        do {
            secret = try signingSecret(delivery)
        } catch {
            // A configuration problem (no or another key): retried, so fixing the key delivers it.
            await settle(
                delivery, failure: "cannot sign: \(error)", status: nil, retryAfter: nil, refused: false,
                started: .now, log: log)
            return
        }
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "whatsapp-crm-webhooks/1")
        request.headers.add(
            name: CRMWebhookSignature.header, value: CRMWebhookSignature.sign(body, secret: secret))
        request.headers.add(name: "X-CRM-Event-Id", value: delivery.eventId)
        request.headers.add(name: "X-CRM-Event-Kind", value: delivery.eventKind)
        request.headers.add(name: "X-CRM-Delivery-Id", value: String(delivery.id))
        request.headers.add(name: "X-CRM-Delivery-Attempt", value: String(delivery.attempt))
        request.body = .bytes(ByteBuffer(bytes: body))

        let started = ContinuousClock.now
        var status: Int?
        var failure: String?
        var retryAfter: Duration?
        var refused = false
        // Checked again right before connecting: the name may resolve elsewhere since it was registered.
        if case .refused(let why) = await settings.destinations.checkResolving(
            host: URL(string: delivery.url)?.host ?? "")
        {
            failure = "destination refused: \(why)"
            refused = true
        } else {
            do {
                let response = try await http.execute(request, timeout: TimeAmount(settings.timeout))
                status = Int(response.status.code)
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(Int(response.status.code)) {
                    failure = "HTTP \(response.status.code)"
                    retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { .seconds($0) }
                }
            } catch {
                // The API shows the delivery's error to managers: a category, never the raw
                // error (it can name internal addresses and ports); the log has the detail.
                failure = Self.category(of: error)
                log.notice("outbound webhook connection failed", metadata: ["detail": "\(error)"])
            }
        }
        await settle(
            delivery, failure: failure, status: status, retryAfter: retryAfter, refused: refused, started: started,
            log: log)
    }

    /// The endpoint's signing secret: sealed (opened with this process's key) or, for an
    /// endpoint saved before secrets were encrypted, in clear.
    func signingSecret(_ delivery: ClaimedDelivery) throws -> String {
        if let sealed = delivery.sealedSecret {
            guard let secrets else { throw SecretBoxError.missingKey }
            return try secrets.open(Array(sealed), context: OutboundWebhookStore.secretContext(delivery.webhookId))
        }
        guard let clear = delivery.clearSecret else { throw SecretBoxError.wrongKeyOrCorrupt }
        return clear
    }

    /// Records the attempt and decides what comes next: delivered, retried later, or failed.
    func settle(
        _ delivery: ClaimedDelivery, failure: String?, status: Int?, retryAfter: Duration?, refused: Bool,
        started: ContinuousClock.Instant, log: Logger
    ) async {
        let elapsed = ContinuousClock.now - started
        duration.recordInterval(since: started)
        let outcome: WebhookDeliveryStore.Outcome
        if let failure {
            let next = refused ? nil : settings.delay(afterAttempt: delivery.attempt, retryAfter: retryAfter)
            outcome = .failed(
                httpStatus: status, error: failure, retryAt: next.map { Date().addingTimeInterval($0.seconds) })
            if let next {
                attempts.retry.increment()
                log.notice(
                    "outbound webhook failed, will retry",
                    metadata: ["error": "\(failure)", "retry_in_s": "\(next.seconds)"])
            } else {
                attempts.failed.increment()
                log.warning("outbound webhook failed for good", metadata: ["error": "\(failure)"])
            }
        } else {
            attempts.delivered.increment()
            outcome = .delivered(httpStatus: status ?? 200)
            log.debug("outbound webhook delivered")
        }
        do {
            try await WebhookDeliveryStore.settle(
                delivery, outcome: outcome, durationMs: Int(elapsed.seconds * 1000), on: postgres, logger: log)
        } catch {
            // The lease runs out and another attempt is made: at-least-once, never lost.
            log.error("could not record webhook attempt", metadata: ["error": "\(error)"])
        }
    }
}

/// Deliveries running right now (shared by the claim loop and the delivery tasks).
final class InFlightCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ n: Int) { count.withLock { $0 += n } }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
