import Foundation
import Hummingbird
import Kafka
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// `GET /api/v1/messages/{wamid}` (with status history) and `POST /api/v1/messages` (send a
/// template or text, through `SendIntake`), `GET /api/v1/sends/{request_id}`.
struct MessagesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let intake: SendIntake
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("messages/:wamid") { request, context in
            _ = try await self.auth.require(request)
            let wamid = try context.parameters.require("wamid")
            guard let message = try await MessageStore.get(wamid: wamid, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no message with wamid \(wamid)")
            }
            return try json(message)
        }
        group.post("messages") { request, _ in try await self.send(request) }
        group.get("sends/:requestId") { request, context in
            _ = try await self.auth.require(request)
            let id = try context.parameters.require("requestId")
            guard let state = try await SendStore.get(requestId: id, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no send request \(id)")
            }
            return try json(state)
        }
    }

    func send(_ request: Request) async throws -> Response {
        let principal = try await auth.require(request)
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let body: SendBody
        do {
            body = try JSONDecoder().decode(SendBody.self, from: buffer)
        } catch {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object: \(error)")
        }
        let ask = try body.ask()
        return try await intake.submit(ask, principal: principal).response()
    }
}
