import Foundation
import Testing
import WireModels

@Suite struct JSONParserTests {
    @Test func agreesWithJSONDecoderOnEveryFixture() throws {
        for (name, body) in try WebhookNormalizerTests.fixtures() {
            let ours = try JSONParser.parse(body)
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(body))
            #expect(ours == foundation, "\(name)")
        }
    }

    @Test func escapesNumbersAndNesting() throws {
        let text = #" {"a":"x\"y\\z\/\n\t\u00e9\ud83d\ude00","b":[1,-2.5,3e2,0,true,false,null,{}],"c":{}} "#
        let v = try JSONParser.parse(Array(text.utf8))
        #expect(v["a"]?.stringValue == "x\"y\\z/\n\té😀")
        #expect(
            v["b"]
                == .array([
                    .number(1), .number(-2.5), .number(300), .number(0), .bool(true), .bool(false), .null, .object([:]),
                ]))
        #expect(v["c"] == .object([:]))
        #expect(try JSONParser.parse(Array("\"Olá ☕\"".utf8)) == .string("Olá ☕"))
    }

    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "01", "1.", "-", "tru", "\"abc", "\"\\x\"", "\"\\ud83d\"",
        "{\"a\":1}x", "\"\u{01}\"", "nul", "1e",
    ])
    func rejectsInvalidDocuments(text: String) {
        #expect(throws: JSONParser.Invalid.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func rejectsAbsurdNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Invalid.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test func gatewayRejectsBodiesThatAreNotUTF8() {
        let bad: [UInt8] =
            Array(#"{"object":"whatsapp_business_account","x":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(throws: WebhookBody.Problem.notJSON) { try WebhookBody(bytes: bad) }
    }
}

@Suite struct RFC3339Tests {
    @Test func writesMillisecondsInUTCAndReadsThemBack() {
        let d = Date(timeIntervalSince1970: 1_764_101_107.764)
        #expect(RFC3339.string(from: d) == "2025-11-25T20:05:07.764Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.date(from: "2025-11-25T20:05:07.764Z") == d)
        #expect(RFC3339.date(from: "2025-11-25T20:05:07Z") == Date(timeIntervalSince1970: 1_764_101_107))
    }

    @Test func readsOtherValidFormsAndRejectsGarbage() {
        #expect(RFC3339.date(from: "2025-11-25T22:05:07+02:00") == Date(timeIntervalSince1970: 1_764_101_107))
        #expect(RFC3339.date(from: "2025-13-25T20:05:07Z") == nil)
        #expect(RFC3339.date(from: "yesterday") == nil)
        #expect(RFC3339.date(from: "2025-11-25t20:05:07.5z") == Date(timeIntervalSince1970: 1_764_101_107.5))
        #expect(RFC3339.date(from: "2024-02-29T00:00:00Z") != nil)
    }

    /// Found by schemathesis: `2024-01-01T12:99:00Z` was rolled over to 13:39 and accepted.
    @Test func refusesFieldsOutOfRangeInsteadOfRollingThemOver() {
        for text in [
            "2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:00:61Z", "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z", "2024-01-00T00:00:00Z",
            "2024-01-01T12:00:00+24:00", "2024-01-01T12:00:00+01:60", "2024-01-01", "2024-01-01T12:00Z",
        ] {
            #expect(RFC3339.date(from: text) == nil, "\(text)")
        }
    }

    @Test func roundTripsManyInstants() {
        for i in 0..<2000 {
            let ms = Int64(1_600_000_000_000) + Int64(i) * 987_654_321
            let d = Date(timeIntervalSince1970: Double(ms) / 1000)
            let text = RFC3339.string(from: d)
            #expect(
                RFC3339.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == ms, "\(text)")
        }
    }
}
