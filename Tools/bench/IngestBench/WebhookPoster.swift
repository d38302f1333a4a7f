import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The ingest benchmark's HTTP/1.1 client: a fixed set of keep-alive connections, one request
/// in flight on each (as Meta sends), with both timestamps taken on the connection's event loop.
///
/// Why not AsyncHTTPClient: the load generator shares the two cores with what it measures. A
/// general client cost ~150 µs of CPU per request here (a third of a core at 2,000 requests/s),
/// and timing it from a Swift task added the task's own wake-up delay to every ack figure.
final class WebhookPoster: Sendable {
    struct Prepared: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
    }

    struct Sample: Sendable {
        var index: Int
        var sentAt: Date
        var ack: Duration
        var status: Int
    }

    private let connections: [Connection]
    /// Connections with no request in flight; `next()` hands them out.
    private let free: AsyncStream<Connection>
    private let freeSink: AsyncStream<Connection>.Continuation
    private let samples: Samples

    final class Samples: Sendable {
        let list = Mutex<[Sample]>([])
    }

    init(host: String, port: Int, connections count: Int, group: any EventLoopGroup) async throws {
        let (free, freeSink) = AsyncStream.makeStream(of: Connection.self)
        let samples = Samples()
        var made: [Connection] = []
        for _ in 0..<count {
            made.append(
                try await Connection.open(host: host, port: port, group: group) { sample, connection in
                    samples.list.withLock { $0.append(sample) }
                    freeSink.yield(connection)
                })
        }
        for connection in made { freeSink.yield(connection) }
        self.samples = samples
        self.free = free
        self.freeSink = freeSink
        connections = made
    }

    /// Waits for a free connection, then sends on it; returns as soon as the request is handed over.
    func post(_ request: Prepared, index: Int, free iterator: inout AsyncStream<Connection>.Iterator) async {
        guard let connection = await iterator.next() else { return }
        connection.send(request, index: index)
    }

    func freeConnections() -> AsyncStream<Connection>.Iterator { free.makeAsyncIterator() }

    /// Waits until every response is in (at most `timeout`), then closes the connections.
    func finish(expected: Int, timeout: Duration = .seconds(60)) async -> [Sample] {
        let deadline = ContinuousClock.now + timeout
        while samples.list.withLock({ $0.count }) < expected, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for connection in connections { try? await connection.channel.close() }
        freeSink.finish()
        return samples.list.withLock { $0 }
    }

    /// Where the webhooks go, taken apart once from the gateway's base URL.
    struct Target: Sendable {
        let host: String
        let port: Int
        let path: String

        init(gatewayURL: String) {
            let components = URLComponents(string: gatewayURL)
            host = components?.host ?? "127.0.0.1"
            port = components?.port ?? 80
            let base = components?.path ?? ""
            path = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/webhooks/whatsapp"
        }
    }

    static func prepare(to target: Target, body: [UInt8], signature: String) -> Prepared {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.host)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "X-Hub-Signature-256", value: signature)
        return Prepared(
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: headers),
            body: ByteBuffer(bytes: body))
    }

    final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        let channel: any Channel
        let onDone: @Sendable (Sample, Connection) -> Void
        // Touched only on the channel's event loop.
        private var inFlight: (index: Int, sentAt: Date, started: NIODeadline)?
        private var status = 0

        private init(channel: any Channel, onDone: @escaping @Sendable (Sample, Connection) -> Void) {
            self.channel = channel
            self.onDone = onDone
        }

        static func open(
            host: String, port: Int, group: any EventLoopGroup,
            onDone: @escaping @Sendable (Sample, Connection) -> Void
        ) async throws -> Connection {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in channel.pipeline.addHTTPClientHandlers() }
                .connect(host: host, port: port).get()
            let connection = Connection(channel: channel, onDone: onDone)
            try await channel.pipeline.addHandler(connection).get()
            return connection
        }

        func send(_ request: Prepared, index: Int) {
            channel.eventLoop.execute { [self] in
                inFlight = (index, Date(), .now())
                status = 0
                // A connection the gateway closed answers every later request as failed at once.
                guard channel.isActive else { return complete(status: 0) }
                channel.write(HTTPClientRequestPart.head(request.head), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body: break
            case .end: complete(status: status)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            complete(status: 0)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func complete(status: Int) {
            guard let request = inFlight else { return }
            inFlight = nil
            let ack = Duration.nanoseconds(Int64((NIODeadline.now() - request.started).nanoseconds))
            onDone(Sample(index: request.index, sentAt: request.sentAt, ack: ack, status: status), self)
        }
    }
}
