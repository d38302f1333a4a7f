import Foundation
import Hummingbird
import WireModels

/// The simulator's own control routes (not part of the Graph API, no token):
/// - `GET /_sim/faults`, `POST /_sim/faults` (JSON `FaultConfig` or the compact SIMULATOR_FAULTS
///   syntax; replaces the faults), `DELETE /_sim/faults` (none);
/// - `GET /_sim/limits`, `POST /_sim/limits` `{"mps": 1000}`;
/// - `POST /_sim/inbound` (`InboundLoadRequest`): inbound-message load to SIMULATOR_WEBHOOK_URL;
/// - `GET /_sim/stats`, `POST /_sim/stats/reset`.
struct SimulatorAdminRoutes: Sendable {
    let simulator: CloudAPISimulator

    func add(to router: Router<BasicRequestContext>) {
        router.get("_sim/faults") { _, _ in try JSONResponse.encode(simulator.faults.config) }
        router.post("_sim/faults") { request, _ in try await replaceFaults(request) }
        router.delete("_sim/faults") { _, _ in
            simulator.faults.replace(FaultConfig())
            return try JSONResponse.encode(simulator.faults.config)
        }
        router.get("_sim/limits") { _, _ in JSONResponse.make(.object(["mps": .number(simulator.limiter.mps)])) }
        router.post("_sim/limits") { request, _ in
            guard let mps = try await JSONResponse.body(of: request)?["mps"]?.doubleValue else {
                return JSONResponse.problem(400, #"body must be {"mps": <messages per second, 0 = unlimited>}"#)
            }
            simulator.limiter.setRate(mps)
            return JSONResponse.make(.object(["mps": .number(mps)]))
        }
        router.post("_sim/inbound") { request, _ in try await inbound(request) }
        router.get("_sim/stats") { _, _ in try JSONResponse.encode(simulator.stats.snapshot) }
        router.post("_sim/stats/reset") { _, _ in
            simulator.stats.reset()
            return try JSONResponse.encode(simulator.stats.snapshot)
        }
    }

    func replaceFaults(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        do {
            let config = try FaultSpec.parse(String(buffer: buffer))
            simulator.faults.replace(config)
            return try JSONResponse.encode(config)
        } catch {
            return JSONResponse.problem(400, "\(error)")
        }
    }

    func inbound(_ request: Request) async throws -> Response {
        guard let poster = simulator.poster else {
            return JSONResponse.problem(409, "SIMULATOR_WEBHOOK_URL is not set: nowhere to post inbound messages")
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let load: InboundLoadRequest
        do {
            load =
                buffer.readableBytes == 0
                ? InboundLoadRequest() : try JSONDecoder().decode(InboundLoadRequest.self, from: buffer)
        } catch {
            return JSONResponse.problem(400, "body is not an inbound load request: \(error)")
        }
        if let problem = load.problem { return JSONResponse.problem(400, problem) }
        let generator = InboundLoadGenerator(simulator: simulator, poster: poster)
        if load.wait { return try JSONResponse.encode(await generator.run(load)) }
        Task { _ = await generator.run(load) }
        return try JSONResponse.encode(status: 202, load)
    }
}
