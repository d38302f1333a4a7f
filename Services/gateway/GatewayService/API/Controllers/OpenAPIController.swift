import Foundation
import Hummingbird
import WireModels

/// `GET /api/v1/openapi.json` (public: it describes the API, it holds no data).
struct OpenAPIController: Sendable {
    func add(to group: RouterGroup<some RequestContext>) {
        let body = (try? JSONCoding.encoder().encode(OpenAPIDocument.json)) ?? Data()
        group.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
