import Foundation
import Hummingbird
import WireModels

/// The REST API's error shape: `{"error": {"code": "...", "message": "...", "fields": [...]}}`.
/// Validation errors (400 `validation_failed`) list every bad field in `fields`
/// (`{"field": "...", "message": "..."}`) and, joined, in `message`.
public struct APIError: Error, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let fields: [FieldProblem]
    /// Seconds for `Retry-After` (429).
    public var retryAfter: Int?
    /// The methods for `Allow` (405).
    public var allow: [String] = []

    public init(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, fields: [FieldProblem] = [],
        allow: [String] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.allow = allow
    }

    public static func tooManyRequests(retryAfter seconds: Double) -> APIError {
        var error = APIError(.tooManyRequests, "rate_limited", "too many requests from this address; retry later")
        error.retryAfter = max(1, Int(seconds.rounded(.up)))
        return error
    }

    public static let unauthorized = APIError(.unauthorized, "unauthorized", "missing or invalid bearer token")

    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }

    public static func validation(_ problems: [FieldProblem]) -> APIError {
        APIError(
            .badRequest, "validation_failed", problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "),
            fields: problems)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if !fields.isEmpty {
            error["fields"] = .array(
                fields.map { .object(["field": .string($0.field), "message": .string($0.message)]) })
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        return Response(
            status: status, headers: headers,
            body: .init(
                byteBuffer: ByteBuffer(
                    bytes: try JSONCoding.encoder().encode(JSONValue.object(["error": .object(error)])))))
    }
}

/// One bad field of a request (a body field or a query parameter).
public struct FieldProblem: Sendable, Equatable {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}

/// Collects every problem of a request before answering, so a client sees all of them at once.
public struct Problems: Sendable {
    public private(set) var items: [FieldProblem] = []
    public init() {}

    public mutating func add(_ field: String, _ message: String) { items.append(FieldProblem(field, message)) }

    /// Throws 400 `validation_failed` listing every problem, if there is any.
    public func check() throws {
        if !items.isEmpty { throw APIError.validation(items) }
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
