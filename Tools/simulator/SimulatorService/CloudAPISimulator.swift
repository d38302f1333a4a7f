import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceKit
import WireModels

/// A stand-in for Meta's Graph API in dev, tests and benchmarks:
/// - `POST /{version}/{phone-number-id}/messages`: bearer token, request validated like Meta
///   (`SendValidator`, templates against the catalog), the per-number mps limit (`RateLimiter`),
///   injected faults (`FaultInjector`); accepted sends return a wamid and the input → wa_id
///   mapping, then signed status webhooks follow (`StatusPlan`, `StatusWebhook`);
/// - `GET /{version}/{waba-id}/message_templates`: the template catalog, paged like Meta;
/// - `/_sim/...`: faults, limits, inbound load and counters for tests (`SimulatorAdminRoutes`);
/// - `/healthz`, `/readyz`, `/metrics`.
public struct CloudAPISimulator: Sendable {
    public struct Settings: Sendable {
        public var accessToken: String
        public var appSecret: String?
        public var webhookURL: String?
        public var wabaId: String
        /// Pause before each status webhook of a send.
        public var statusDelay: Duration
        /// The business number inbound load is addressed to, unless a request names another.
        public var phoneNumberId: String
        public var displayPhoneNumber: String
        /// Messages per second per business phone number; ≤ 0 = unlimited.
        public var mps: Double
        public var faults: FaultConfig
        public var templates: TemplateCatalog
        /// How long a webhook the receiver refused is retried (Meta retries for days).
        public var webhookRetry: Duration = .seconds(120)

        public init(
            accessToken: String, appSecret: String?, webhookURL: String?, wabaId: String, statusDelay: Duration,
            phoneNumberId: String = "100000000000002", displayPhoneNumber: String = "15550000000", mps: Double = 80,
            faults: FaultConfig = FaultConfig(), templates: TemplateCatalog? = nil
        ) {
            self.accessToken = accessToken
            self.appSecret = appSecret
            self.webhookURL = webhookURL
            self.wabaId = wabaId
            self.statusDelay = statusDelay
            self.phoneNumberId = phoneNumberId
            self.displayPhoneNumber = displayPhoneNumber
            self.mps = mps
            self.faults = faults
            self.templates = templates ?? TemplateCatalog.bundledCatalog
        }
    }

    public let settings: Settings
    let logger: Logger
    /// Nil when SIMULATOR_WEBHOOK_URL is unset: no statuses, no inbound load.
    let poster: (any WebhookPoster)?
    let validator: SendValidator
    public let limiter: RateLimiter
    public let faults: FaultInjector
    public let stats: SimulatorStats

    public init(settings: Settings, logger: Logger, http: HTTPClient = .shared) {
        let poster = settings.webhookURL.map {
            HTTPWebhookPoster(
                url: $0, appSecret: settings.appSecret, attempts: .max, retryFor: settings.webhookRetry, http: http)
        }
        self.init(settings: settings, logger: logger, poster: poster)
    }

    /// With another poster (tests record what would be posted).
    public init(settings: Settings, logger: Logger, poster: (any WebhookPoster)?) {
        self.settings = settings
        self.logger = logger
        self.poster = poster
        validator = SendValidator(catalog: settings.templates)
        limiter = RateLimiter(mps: settings.mps)
        faults = FaultInjector(settings.faults)
        stats = SimulatorStats()
    }

    public func buildRouter(registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        AdminRoutes.add(to: router, registry: registry, readiness: Readiness([]))
        // One parameter name for both: the router shares the `/{version}/{id}` node.
        router.post(":version/:id/messages") { request, context in
            try await self.send(request, phoneNumberId: try context.parameters.require("id"))
        }
        router.get(":version/:id/message_templates") { request, context in
            self.listTemplates(request, wabaId: try context.parameters.require("id"))
        }
        SimulatorAdminRoutes(simulator: self).add(to: router)
        return router
    }

    // MARK: Sending

    enum Outcome {
        case accepted(JSONValue, callback: String?)
        case rejected(GraphError)
        /// Over the mps limit: 130429.
        case throttled(GraphError)
    }

    func send(_ request: Request, phoneNumberId: String) async throws -> Response {
        switch await accept(request, phoneNumberId: phoneNumberId) {
        case .accepted(let answer, let callback):
            stats.accepted(callback: callback)
            return JSONResponse.make(answer)
        case .rejected(let error):
            stats.rejected(error.code)
            return error.response
        case .throttled(let error):
            stats.rejected(error.code, throttled: true)
            return error.response
        }
    }

    func accept(_ request: Request, phoneNumberId: String) async -> Outcome {
        guard request.headers[.authorization] == "Bearer \(settings.accessToken)" else {
            return .rejected(.invalidToken)
        }
        guard phoneNumberId.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return .rejected(.unsupportedObject(phoneNumberId))
        }
        let send: ValidatedSend
        do {
            guard let body = try await JSONResponse.body(of: request) else {
                return .rejected(.missingParameter("messaging_product"))
            }
            send = try validator.validate(body)
        } catch let error as GraphError {
            return .rejected(error)
        } catch {
            return .rejected(.invalidParameter("request body: \(error)"))
        }
        guard limiter.tryAcquire(phoneNumberId) else {
            return .throttled(.code(130429))
        }
        let fault = faults.decide(recipient: send.waId)
        if let label = fault.label { stats.faultInjected(label) }
        if let delay = fault.delay { try? await Task.sleep(for: delay) }
        if let error = fault.error { return .rejected(error) }

        let wamid = Self.newWamid()
        if let poster {
            let plan = faults.statusPlan(failure: fault.failStatus)
            let acceptedAt = Date()
            Task {
                await self.postStatuses(
                    plan, wamid: wamid, send: send, phoneNumberId: phoneNumberId, acceptedAt: acceptedAt,
                    poster: poster)
            }
        }
        return .accepted(
            .object([
                "messaging_product": .string("whatsapp"),
                "contacts": .array([.object(["input": .string(send.input), "wa_id": .string(send.waId)])]),
                "messages": .array([.object(["id": .string(wamid), "message_status": .string("accepted")])]),
            ]), callback: send.callbackData)
    }

    /// Meta-like ids: `wamid.` + base64 of a unique value.
    static func newWamid() -> String {
        "wamid." + Data(UUID().uuidString.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// One webhook per step, `statusDelay` apart; timestamps follow the logical order.
    func postStatuses(
        _ plan: StatusPlan, wamid: String, send: ValidatedSend, phoneNumberId: String, acceptedAt: Date,
        poster: any WebhookPoster
    ) async {
        let step =
            Double(settings.statusDelay.components.seconds)
            + Double(settings.statusDelay.components.attoseconds) / 1e18
        for item in plan.steps {
            if settings.statusDelay > .zero { try? await Task.sleep(for: settings.statusDelay) }
            let event = StatusEvent(
                wamid: wamid, status: item.status, recipient: send.waId, phoneNumberId: phoneNumberId,
                displayPhoneNumber: settings.displayPhoneNumber, wabaId: settings.wabaId,
                callbackData: send.callbackData, at: acceptedAt.addingTimeInterval(step * Double(item.sequence + 1)),
                category: send.pricingCategory, error: item.error)
            do {
                try await poster.post(StatusWebhook.body(event))
                stats.status(item.status, posted: true)
            } catch {
                stats.status(item.status, posted: false)
                logger.warning(
                    "status webhook not delivered",
                    metadata: ["wamid": "\(wamid)", "status": "\(item.status)", "error": "\(error)"])
            }
        }
    }

    // MARK: Templates

    func listTemplates(_ request: Request, wabaId: String) -> Response {
        guard request.headers[.authorization] == "Bearer \(settings.accessToken)" else {
            return GraphError.invalidToken.response
        }
        guard wabaId == settings.wabaId else { return GraphError.unsupportedObject(wabaId).response }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        do throws(GraphError) {
            let listing = try TemplateListing(query: query)
            stats.templateListing()
            let host = request.head.authority ?? "localhost"
            return JSONResponse.make(listing.page(of: settings.templates, baseURL: "http://\(host)\(request.uri.path)"))
        } catch {
            return error.response
        }
    }
}

extension TemplateCatalog {
    /// The bundled catalog, parsed once (its validity is checked by the unit tests).
    public static let bundledCatalog: TemplateCatalog = {
        do {
            return try TemplateCatalog.bundled()
        } catch {
            fatalError("the bundled template catalog is invalid: \(error)")
        }
    }()
}
