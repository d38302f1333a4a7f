import Storage
import Testing
import WireModels

@testable import SenderService

/// How the sender splits a batch: one request per recipient per round, each recipient's
/// requests in their order, every request exactly once.
struct SendRoundsTests {
    static func claimed(_ id: String, to: String) -> SendStore.Claimed {
        SendStore.Claimed(
            request: OutboundRequest(requestId: id, to: to, phoneNumberId: nil, text: id, requestedBy: nil),
            attempts: 0, httpAttempts: 0)
    }

    @Test func aRecipientsRequestsGoInOrderOnePerRound() {
        let batch = [
            Self.claimed("a1", to: "1"), Self.claimed("b1", to: "2"), Self.claimed("a2", to: "1"),
            Self.claimed("c1", to: "3"), Self.claimed("a3", to: "1"), Self.claimed("b2", to: "2"),
        ]
        let rounds = SendExecutor.rounds(batch).map { $0.map(\.request.requestId) }
        #expect(rounds == [["a1", "b1", "c1"], ["a2", "b2"], ["a3"]])
        for round in SendExecutor.rounds(batch) {
            #expect(Set(round.map(\.request.to)).count == round.count)
        }
    }

    @Test func distinctRecipientsMakeOneRound() {
        let batch = (0..<100).map { Self.claimed("r\($0)", to: "55\($0)") }
        let rounds = SendExecutor.rounds(batch)
        #expect(rounds.count == 1)
        #expect(rounds[0].map(\.request.requestId) == batch.map(\.request.requestId))
        #expect(SendExecutor.rounds([]).isEmpty)
    }
}
