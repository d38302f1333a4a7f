import Foundation
import Hummingbird
import WireModels

/// JSON bodies in and out of the simulator's routes.
enum JSONResponse {
    static func make(status: Int = 200, _ value: JSONValue) -> Response {
        let bytes = (try? JSONCoding.encoder().encode(value)) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func encode<Value: Encodable>(status: Int = 200, _ value: Value) throws -> Response {
        let bytes = try JSONCoding.encoder().encode(value)
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `{"error": "..."}` for the simulator's own `/_sim` routes (not a Graph API error).
    static func problem(_ status: Int, _ message: String) -> Response {
        make(status: status, .object(["error": .string(message)]))
    }

    /// The request body as JSON; nil when it is empty or not JSON.
    static func body(of request: Request, limit: Int = 1 << 20) async throws -> JSONValue? {
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: buffer)
    }
}
