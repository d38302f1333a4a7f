import Foundation
import Testing
import WireModels

/// `JSONValue.jsonText`, the matcher's encoder for stored message content: what it writes reads
/// back as the same value, with the awkward characters escaped and keys sorted.
struct JSONValueTextTests {
    static let samples: [JSONValue] = [
        .null, true, false, 0, -7, .number(1.5), .number(1e-7), .number(1e300), .number(9_007_199_254_740_992), "",
        "quote \" backslash \\ slash / newline \n tab \t return \r bell \u{07} nul-free",
        "Olá 👋🏽 ação — 日本語", "e\u{301}",
        [1, "two", [3], ["four": 4]],
        ["b": ["z": [], "a": [:]], "a": .null, "link": "https://example.com/x?y=1&z=2"],
    ]

    @Test(arguments: samples)
    func readsBackAsTheSameValue(_ value: JSONValue) throws {
        let text = value.jsonText
        let back = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(back == value, "\(text)")
    }

    @Test func escapesControlCharactersAndSortsKeys() {
        #expect(JSONValue.string("a\u{01}b\"").jsonText == #""a\u0001b\"""#)
        #expect(JSONValue.object(["b": 1, "a": .number(2.5), "c": "/"]).jsonText == #"{"a":2.5,"b":1,"c":"/"}"#)
    }
}
