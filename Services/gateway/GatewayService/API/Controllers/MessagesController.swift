import Foundation
import Hummingbird
import Kafka
import Logging
import Outbound
import PostgresNIO
import Storage
import WireModels

/// `GET /api/v1/messages/{wamid}` (with status history), `POST /api/v1/messages` (send a
/// template or text, through `SendIntake`) and `GET /api/v1/sends/{request_id}`. Agents read
/// only their contacts' messages and sends and send only to contacts they own.
struct MessagesController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let intake: SendIntake
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("messages/:wamid") { request, context in
            let access = try await self.auth.access(request, .readCRM)
            let wamid = try context.parameters.require("wamid")
            if let owner = access.ownerScope,
                try await !OwnerChecks.seesMessage(wamid: wamid, owner: owner, on: self.postgres, logger: self.logger)
            {
                throw APIError.notFound("no message with wamid \(wamid)")
            }
            guard let message = try await MessageStore.get(wamid: wamid, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no message with wamid \(wamid)")
            }
            return try json(message)
        }
        group.post("messages") { request, _ in try await self.send(request) }
        group.get("sends/:requestId") { request, context in
            let access = try await self.auth.access(request, .readCRM)
            let id = try context.parameters.require("requestId")
            if let owner = access.ownerScope,
                try await !OwnerChecks.seesSend(requestId: id, owner: owner, on: self.postgres, logger: self.logger)
            {
                throw APIError.notFound("no send request \(id)")
            }
            guard let state = try await SendStore.get(requestId: id, on: self.postgres, logger: self.logger) else {
                throw APIError(.notFound, "not_found", "no send request \(id)")
            }
            return try json(state)
        }
    }

    func send(_ request: Request) async throws -> Response {
        let access = try await auth.access(request, .sendMessages)
        let buffer = try await JSONBody.collect(request, upTo: 64 * 1024)
        let body: SendBody
        do {
            body = try JSONDecoder().decode(SendBody.self, from: buffer)
        } catch {
            throw APIError(.badRequest, "invalid_json", "request body must be a JSON object: \(error)")
        }
        let ask = try body.ask()
        // Campaign attribution and test sends are managers' tools: an agent's send is their own.
        if access.ownerScope != nil, body.campaignId != nil || body.test == true {
            throw APIError(.forbidden, "forbidden", "an agent cannot set campaign_id or test")
        }
        if let owner = access.ownerScope,
            try await !OwnerChecks.ownsContact(phoneDigits: ask.to, owner: owner, on: postgres, logger: logger)
        {
            throw APIError.notFound("to: no contact of yours has this number")
        }
        return try await intake.submit(ask, principal: access.principal).response()
    }
}
