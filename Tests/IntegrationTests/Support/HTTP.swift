import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import WireModels

struct HTTPResult {
    let status: Int
    let body: String
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) }
}

enum HTTP {
    static func request(
        _ method: NIOHTTP1.HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> HTTPResult {
        var r = HTTPClientRequest(url: url)
        r.method = method
        for (k, v) in headers { r.headers.add(name: k, value: v) }
        if let body { r.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(r, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return HTTPResult(status: Int(response.status.code), body: String(buffer: bytes))
    }

    static func signature(_ body: [UInt8], secret: String) -> String {
        "sha256="
            + Array(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))).hexString
    }
}
