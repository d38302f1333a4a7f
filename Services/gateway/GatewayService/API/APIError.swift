import Foundation
import Hummingbird
import WireModels

/// The REST API's error shape: `{"error": {"code": "...", "message": "..."}}`.
public struct APIError: Error, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static let unauthorized = APIError(.unauthorized, "unauthorized", "missing or invalid bearer token")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = JSONValue.object([
            "error": .object(["code": .string(code), "message": .string(message)])
        ])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONCoding.encoder().encode(body))))
    }
}

/// Encodes API responses with the project's JSON settings (RFC 3339 dates, stable key order).
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try JSONCoding.encoder().encode(value))))
}

/// `{"items": [...], "next_cursor": ...}`
struct Page<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)  // explicit null, as the contract shows
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}
