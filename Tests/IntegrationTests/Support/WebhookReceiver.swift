import Foundation
import Hummingbird
import Logging
import Synchronization

/// A real HTTP endpoint for outbound-webhook tests: answers each POST with the next status
/// of its script (then `fallback`), and keeps every request it got.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: [String: String]
        var body: [UInt8]
    }

    final class Log: Sendable {
        let state: Mutex<(script: [Int], received: [Received])>
        let fallback: Int
        init(script: [Int], fallback: Int) {
            state = Mutex((script, []))
            self.fallback = fallback
        }
        func answer(_ r: Received) -> Int {
            state.withLock {
                $0.received.append(r)
                return $0.script.isEmpty ? fallback : $0.script.removeFirst()
            }
        }
    }

    let port = freePort()
    let log: Log
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var received: [Received] { log.state.withLock { $0.received } }

    init(script: [Int] = [], fallback: Int = 200) async throws {
        let log = Log(script: script, fallback: fallback)
        self.log = log
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let status = log.answer(Received(headers: headers, body: Array(buffer: body)))
            return Response(status: .init(code: status))
        }
        router.get("up") { _, _ in "up" }
        var quiet = Logger(label: "webhook-receiver")
        quiet.logLevel = .critical  // cancelling the server at the end logs harmless errors
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let port = port
        try await eventually("webhook receiver listening") {
            (try? await HTTP.request(.GET, "http://127.0.0.1:\(port)/up").status) == 200
        }
    }

    func stop() { task.cancel() }
}
