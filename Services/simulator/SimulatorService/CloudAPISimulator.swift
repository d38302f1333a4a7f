import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceKit
import WireModels

/// A stand-in for Meta's Graph API in dev and tests: accepts sends like Meta (bearer token,
/// request shape), returns wamids and the input → wa_id mapping, then posts signed status
/// webhooks (sent → delivered → read) to the gateway, as Meta would.
public struct CloudAPISimulator: Sendable {
    public struct Settings: Sendable {
        public var accessToken: String
        public var appSecret: String?
        public var webhookURL: String?
        public var wabaId: String
        public var statusDelay: Duration

        public init(accessToken: String, appSecret: String?, webhookURL: String?, wabaId: String, statusDelay: Duration)
        {
            self.accessToken = accessToken
            self.appSecret = appSecret
            self.webhookURL = webhookURL
            self.wabaId = wabaId
            self.statusDelay = statusDelay
        }
    }

    let settings: Settings
    let logger: Logger
    let http: HTTPClient

    public init(settings: Settings, logger: Logger, http: HTTPClient = .shared) {
        self.settings = settings
        self.logger = logger
        self.http = http
    }

    public func buildRouter(registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        AdminRoutes.add(to: router, registry: registry, readiness: Readiness([]))
        router.post(":version/:phoneNumberId/messages") { request, context in
            try await self.send(request, phoneNumberId: try context.parameters.require("phoneNumberId"))
        }
        return router
    }

    func send(_ request: Request, phoneNumberId: String) async throws -> Response {
        guard request.headers[.authorization] == "Bearer \(settings.accessToken)" else {
            return graphError(
                401, code: 190, type: "OAuthException", "Invalid OAuth access token - Cannot parse access token")
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: buffer) else {
            return graphError(
                400, code: 100, type: "OAuthException", "(#100) The parameter messaging_product is required.")
        }
        guard body["messaging_product"]?.stringValue == "whatsapp" else {
            return graphError(
                400, code: 100, type: "OAuthException", "(#100) The parameter messaging_product is required.")
        }
        guard let to = body["to"]?.stringValue, let waId = PhoneNumber.digits(to) else {
            return graphError(400, code: 100, type: "OAuthException", "(#100) Invalid parameter: to")
        }
        switch body["type"]?.stringValue ?? "text" {
        case "text":
            guard let text = body["text"]?["body"]?.stringValue, !text.isEmpty else {
                return graphError(
                    400, code: 100, type: "OAuthException", "(#100) The parameter text['body'] is required.")
            }
        case "template":
            guard body["template"]?["name"]?.stringValue != nil else {
                return graphError(
                    400, code: 100, type: "OAuthException", "(#100) The parameter template['name'] is required.")
            }
        case let other:
            return graphError(400, code: 131051, type: "OAuthException", "(#131051) Unsupported message type: \(other)")
        }
        let wamid =
            "wamid." + Data(UUID().uuidString.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        if settings.webhookURL != nil {
            let callback = body["biz_opaque_callback_data"]?.stringValue
            Task { await self.postStatuses(wamid: wamid, to: waId, phoneNumberId: phoneNumberId, callback: callback) }
        }
        let answer = JSONValue.object([
            "messaging_product": .string("whatsapp"),
            "contacts": .array([.object(["input": .string(to), "wa_id": .string(waId)])]),
            "messages": .array([.object(["id": .string(wamid), "message_status": .string("accepted")])]),
        ])
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONCoding.encoder().encode(answer))))
    }

    /// sent → delivered → read, each a separate signed webhook like Meta's.
    func postStatuses(wamid: String, to: String, phoneNumberId: String, callback: String?) async {
        for status in ["sent", "delivered", "read"] {
            try? await Task.sleep(for: settings.statusDelay)
            let body = StatusWebhook.body(
                wabaId: settings.wabaId, phoneNumberId: phoneNumberId, wamid: wamid, status: status, recipient: to,
                callback: callback, at: Date())
            do {
                try await postWebhook(body)
            } catch {
                logger.warning("status webhook not delivered", metadata: ["wamid": "\(wamid)", "error": "\(error)"])
            }
        }
    }

    func postWebhook(_ body: [UInt8]) async throws {
        guard let url = settings.webhookURL else { return }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let secret = settings.appSecret {
            let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            request.headers.add(name: "X-Hub-Signature-256", value: "sha256=" + Array(mac).hexString)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok else {
            throw SimulatorError(description: "gateway answered \(response.status.code)")
        }
    }

    func graphError(_ status: Int, code: Int, type: String, _ message: String) -> Response {
        let body = JSONValue.object([
            "error": .object([
                "message": .string(message), "type": .string(type), "code": .number(Double(code)),
                "fbtrace_id": .string("sim-" + UUID().uuidString.prefix(8).lowercased()),
            ])
        ])
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: (try? JSONCoding.encoder().encode(body)) ?? Data())))
    }
}

struct SimulatorError: Error, CustomStringConvertible {
    let description: String
}

/// Status notification bodies in Meta's shape.
public enum StatusWebhook {
    public static func body(
        wabaId: String, phoneNumberId: String, wamid: String, status: String, recipient: String, callback: String?,
        at: Date
    ) -> [UInt8] {
        var statusObject: [String: JSONValue] = [
            "id": .string(wamid), "status": .string(status),
            "timestamp": .string(String(Int(at.timeIntervalSince1970))), "recipient_id": .string(recipient),
            "pricing": .object([
                "billable": .bool(true), "pricing_model": .string("PMP"), "category": .string("service"),
                "type": .string("regular"),
            ]),
        ]
        if status != "read" {
            statusObject["conversation"] = .object([
                "id": .string("conv-" + String(wamid.suffix(12))),
                "origin": .object(["type": .string("service")]),
            ])
        }
        if let callback { statusObject["biz_opaque_callback_data"] = .string(callback) }
        let value = JSONValue.object([
            "messaging_product": .string("whatsapp"),
            "metadata": .object([
                "display_phone_number": .string("15550000000"), "phone_number_id": .string(phoneNumberId),
            ]),
            "statuses": .array([.object(statusObject)]),
        ])
        let root = JSONValue.object([
            "object": .string("whatsapp_business_account"),
            "entry": .array([
                .object([
                    "id": .string(wabaId),
                    "changes": .array([.object(["field": .string("messages"), "value": value])]),
                ])
            ]),
        ])
        return Array((try? JSONCoding.encoder().encode(root)) ?? Data())
    }
}
