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

    @Test func cellsASpreadsheetWouldRunAsFormulasAreNeutralized() {
        #expect(CSV.field("=HYPERLINK(\"http://evil\",\"x\")") == "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"")
        #expect(CSV.field("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0")
        #expect(CSV.field("-2+3") == "'-2+3")
        #expect(CSV.field("@SUM(1)") == "'@SUM(1)")
        #expect(CSV.field("\t=1") == "'\t=1")
        #expect(CSV.field("\r=1") == "\"'\r=1\"")
        // Phone numbers and signed numbers stay as they are; so does text that only contains a sign.
        #expect(CSV.field("+5511987654321") == "+5511987654321")
        #expect(CSV.field("-3.5") == "-3.5")
        #expect(CSV.field("a=b") == "a=b")
        #expect(CSV.field("+") == "'+")
        #expect(CSV.field("-1.2.3") == "'-1.2.3")
    }

    @Test func logCursorKeepsWamidsWithUnderscores() throws {
        let cursor = MessageLogCursor(micros: 1_764_000_000_123_456, wamid: "wamid.HBg_LNTU_xMQ==")
        #expect(MessageLogCursor(cursor.text) == cursor)
        #expect(MessageLogCursor("nope") == nil)
        #expect(MessageLogCursor("12_") == nil)
        #expect(MessageLogCursor("x_wamid") == nil)
    }
}
