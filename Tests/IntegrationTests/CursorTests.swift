import Foundation
import Testing
import WireModels

/// A cursor that did not come from a previous page is the caller's mistake, never a 500: every
/// list the API publishes (found in its OpenAPI document) is called with malformed cursors.
@Suite(.timeLimit(.minutes(2)))
struct CursorTests {
    static let badCursors = [
        "x", "%25%25%25", "AAAA", Data("garbage".utf8).base64EncodedString(), Data("12_".utf8).base64EncodedString(),
        Data("9999999999999999999999_wamid".utf8).base64EncodedString(), Data("_".utf8).base64EncodedString(),
        Data("\u{0}\u{1}".utf8).base64EncodedString(), String(repeating: "A", count: 4000),
        // Well-formed wrappers around keys no list makes.
        Self.wrap("\u{0}"), Self.wrap("zz"), Self.wrap("a/b/\u{0}"), Self.wrap("99999999999999999999"),
        Self.wrap("2026-13-45_x"), Self.wrap(String(repeating: "9", count: 300)),
    ]

    /// The cursor form lists use (`v1:<key>`, base64url).
    static func wrap(_ key: String) -> String {
        Data(("v1:" + key).utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func everyListAnswersAMalformedCursorWith400() async throws {
        try await APIHarness.run { h, c in
            let doc = try #require(try await h.call(c, .get, "/api/v1/openapi.json", token: nil).json)
            guard case .object(let paths)? = doc["paths"] else {
                Issue.record("openapi.json has no paths")
                return
            }
            var lists: [String] = []
            for (path, item) in paths where !path.contains("{") {
                let parameters = item["get"]?["parameters"]?.arrayValue ?? []
                if parameters.contains(where: { $0["name"]?.stringValue == "cursor" }) { lists.append(path) }
            }
            #expect(lists.count >= 8, "\(lists)")
            for path in lists.sorted() {
                let url = path.hasPrefix("/api/v1") ? path : "/api/v1" + path
                for cursor in Self.badCursors {
                    let r = try await h.call(c, .get, "\(url)?cursor=\(cursor)", token: h.adminToken)
                    #expect(
                        r.status == .badRequest, "\(url) cursor=\(cursor.prefix(20)): \(r.status) \(r.text.prefix(200))"
                    )
                }
            }
        }
    }
}
