import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
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

/// How the sender marks and classifies its Graph calls.
struct SendCallTests {
    @Test func slotsAreMarkedInWavesOfNearbySlotsInSlotOrder() {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let slotted = [("c", 0.25), ("a", 0.0), ("b", 0.05), ("d", 0.34), ("e", 0.36), ("f", 1.0)].map {
            ($0.0, t0.addingTimeInterval($0.1))
        }
        let waves = SendExecutor.waves(slotted, width: 0.1).map { $0.map(\.0) }
        #expect(waves == [["a", "b"], ["c", "d"], ["e"], ["f"]])
        #expect(SendExecutor.waves([(String, Date)](), width: 0.1).isEmpty)
        #expect(SendExecutor.waves(slotted, width: 5).count == 1)
    }

    @Test func onlyErrorsBeforeAConnectionMeanTheRequestNeverLeft() {
        #expect(GraphClient.neverLeft(HTTPClientError.connectTimeout))
        #expect(GraphClient.neverLeft(HTTPClientError.getConnectionFromPoolTimeout))
        #expect(GraphClient.neverLeft(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(GraphClient.neverLeft(ChannelError.connectTimeout(.seconds(1))))
        // Sent, or perhaps sent: Meta may have the message.
        #expect(!GraphClient.neverLeft(HTTPClientError.deadlineExceeded))
        #expect(!GraphClient.neverLeft(HTTPClientError.readTimeout))
        #expect(!GraphClient.neverLeft(HTTPClientError.remoteConnectionClosed))
        #expect(!GraphClient.neverLeft(IOError(errnoCode: ECONNRESET, reason: "read")))
        #expect(!GraphClient.neverLeft(CancellationError()))
    }

    @Test func aClosedPortIsUnreachableAndASilentServerAmbiguous() async throws {
        // A port nothing listens on: the connection is refused, nothing was sent.
        let closed = GraphClient(
            baseURL: "http://127.0.0.1:1", version: "v21.0", accessToken: "t", timeout: .seconds(2))
        let refused = try await closed.sendText(phoneNumberId: "1", to: "5511", text: "hi", callbackData: "r1")
        guard case .unreachable = refused else {
            Issue.record("expected unreachable, got \(refused)")
            return
        }
        // A server that takes the request and never answers: the outcome is unknown.
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { _ in group.any().makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let silent = GraphClient(
            baseURL: "http://127.0.0.1:\(server.localAddress?.port ?? 0)", version: "v21.0", accessToken: "t",
            timeout: .milliseconds(300))
        let answer = try await silent.sendText(phoneNumberId: "1", to: "5511", text: "hi", callbackData: "r2")
        guard case .ambiguous = answer else {
            Issue.record("expected ambiguous, got \(answer)")
            return
        }
    }
}
