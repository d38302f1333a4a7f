import Hummingbird
import Logging
import Prometheus

/// `/healthz`, `/readyz` and `/metrics`, served by every service (workers on ADMIN_PORT,
/// the gateway on its HTTP port too).
public enum AdminRoutes {
    public static func add<Context: RequestContext>(
        to router: Router<Context>, registry: PrometheusCollectorRegistry, readiness: Readiness
    ) {
        router.get("healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("readyz") { _, _ in
            let results = await readiness.evaluate()
            let ready = readiness.isReady(results)
            let text = results.sorted { $0.key < $1.key }
                .map {
                    "\($0.key): \($0.value ? "ok" : "failing")"
                        + (readiness.informational.contains($0.key) ? " (informational)" : "")
                }
                .joined(separator: "\n")
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
        }
        router.get("metrics") { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// A small HTTP server with just the admin routes, for the workers.
    public static func server(
        port: Int, registry: PrometheusCollectorRegistry, readiness: Readiness, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        add(to: router, registry: registry, readiness: readiness)
        return Application(
            router: router, configuration: .init(address: .hostname("0.0.0.0", port: port), serverName: "admin"),
            logger: logger)
    }
}
