import Foundation
import Storage
import Testing

@testable import GatewayService

/// CSV quoting (RFC 4180) and the message log's cursor, without a database.
@Suite struct ReportsUnitTests {
    @Test func fieldsAreQuotedOnlyWhenRFC4180RequiresIt() {
        #expect(CSV.field("plain text") == "plain text")
        #expect(CSV.field("") == "")
        #expect(CSV.field("a,b") == "\"a,b\"")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"")
        #expect(CSV.field("two\r\nlines") == "\"two\r\nlines\"")
        #expect(CSV.field("cr\ronly") == "\"cr\ronly\"")
        #expect(CSV.line(["a", "b,c", ""]) == "a,\"b,c\",\r\n")
        #expect(CSV.text(nil as Int?) == "")
        #expect(CSV.text(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    @Test func logCursorKeepsWamidsWithUnderscores() throws {
        let cursor = MessageLogCursor(micros: 1_764_000_000_123_456, wamid: "wamid.HBg_LNTU_xMQ==")
        #expect(MessageLogCursor(cursor.text) == cursor)
        #expect(MessageLogCursor("nope") == nil)
        #expect(MessageLogCursor("12_") == nil)
        #expect(MessageLogCursor("x_wamid") == nil)
    }
}
