import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import WireModels

/// The Cloud API's send endpoint, `POST {graph}/{version}/{phone-number-id}/messages`.
public struct GraphClient: Sendable {
    public enum Outcome: Sendable, Equatable {
        case accepted(wamid: String, waId: String?)
        /// Meta answered with an error object (or an unreadable non-2xx body).
        case rejected(httpStatus: Int, error: WhatsAppError)
        /// No connection to the Graph API could be made: the request never left, a retry is safe.
        case unreachable(String)
        /// The request may have reached Meta but no answer came (timeout, connection lost):
        /// Meta may have sent the message, so it must not be sent again blindly.
        case ambiguous(String)

        /// For span attributes and logs: accepted, rejected:<code>, unreachable, ambiguous.
        public var label: String {
            switch self {
            case .accepted: "accepted"
            case .rejected(_, let error): "rejected:\(error.code)"
            case .unreachable: "unreachable"
            case .ambiguous: "ambiguous"
            }
        }
    }

    /// The sender's HTTP client, for the whole process. `HTTPClient.shared` opens at most 8
    /// connections per host: with Meta answering in ~300 ms that caps a number at ~26 sends/s
    /// (below its 80 mps), and a send that waits for a connection past its deadline fails
    /// with the same error as one Meta took and never answered (an `unknown` outcome that
    /// need not have been). A connection per send in flight removes both.
    public static let sendClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        configuration.timeout = .init(connect: .seconds(5))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    let http: HTTPClient
    let baseURL: String
    let version: String
    let accessToken: Secret
    let timeout: TimeAmount

    public init(
        http: HTTPClient = GraphClient.sendClient, baseURL: String, version: String, accessToken: String,
        timeout: TimeAmount = .seconds(10)
    ) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.version = version
        self.accessToken = Secret(accessToken)
        self.timeout = timeout
    }

    public func sendText(phoneNumberId: String, to: String, text: String, callbackData: String?) async throws -> Outcome
    {
        try await send(
            phoneNumberId: phoneNumberId,
            body: [
                "messaging_product": .string("whatsapp"), "recipient_type": .string("individual"), "to": .string(to),
                "type": .string("text"), "text": .object(["preview_url": .bool(false), "body": .string(text)]),
            ], callbackData: callbackData)
    }

    public func sendTemplate(
        phoneNumberId: String, to: String, name: String, language: String, components: [JSONValue],
        callbackData: String?
    ) async throws -> Outcome {
        var template: [String: JSONValue] = ["name": .string(name), "language": .object(["code": .string(language)])]
        if !components.isEmpty { template["components"] = .array(components) }
        return try await send(
            phoneNumberId: phoneNumberId,
            body: [
                "messaging_product": .string("whatsapp"), "recipient_type": .string("individual"), "to": .string(to),
                "type": .string("template"), "template": .object(template),
            ], callbackData: callbackData)
    }

    /// `callbackData` (our request id) comes back in every status webhook as `biz_opaque_callback_data`.
    func send(phoneNumberId: String, body: [String: JSONValue], callbackData: String?) async throws -> Outcome {
        var body = body
        if let callbackData { body["biz_opaque_callback_data"] = .string(callbackData) }
        var request = HTTPClientRequest(
            url: "\(baseURL)/\(GraphID.pathSegment(version))/\(GraphID.pathSegment(phoneNumberId))/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken.value)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONCoding.encoder().encode(JSONValue.object(body))))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            return Self.neverLeft(error) ? .unreachable("\(error)") : .ambiguous("\(error)")
        }
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
        let status = Int(response.status.code)
        if (200..<300).contains(status), let wamid = json?["messages"]?.arrayValue.first?["id"]?.stringValue {
            return .accepted(wamid: wamid, waId: json?["contacts"]?.arrayValue.first?["wa_id"]?.stringValue)
        }
        let e = json?["error"]
        // No WhatsApp code: nil lets the error policy decide on the HTTP status alone.
        let code = e?["code"]?.stringValue.flatMap { Int($0) }
        return .rejected(
            httpStatus: status,
            error: WhatsAppError(
                code: code ?? (status >= 500 ? 2 : 1), title: e?["type"]?.stringValue,
                message: e?["message"]?.stringValue ?? "HTTP \(status)",
                details: e?["error_data"]?["details"]?.stringValue))
    }

    /// Errors raised before a connection existed, so before any byte of the request was
    /// written. Everything else (a timeout, a reset or closed connection) is ambiguous.
    static func neverLeft(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: return true
        case let e as ChannelError:
            if case .connectTimeout = e { return true }
            return false
        case let e as HTTPClientError:
            return [.connectTimeout, .getConnectionFromPoolTimeout, .invalidURL, .emptyHost, .emptyScheme]
                .contains(e)
        case let e as IOError:
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(e.errnoCode)
        default: return false
        }
    }
}
