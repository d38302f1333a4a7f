import Hummingbird
import Logging
import PostgresNIO
import Storage
import WireModels

/// `GET /api/v1/contacts?phone=` (phone in any common format: +55 11 98765-4321, 0055…, digits).
struct ContactsController: Sendable {
    let auth: Authenticator
    let postgres: PostgresClient
    let logger: Logger

    func add(to group: RouterGroup<some RequestContext>) {
        group.get("contacts") { request, _ in try await self.list(request) }
    }

    func list(_ request: Request) async throws -> Response {
        _ = try await auth.require(request)
        guard let raw = request.uri.queryParameters["phone"].map(String.init) else {
            throw APIError(.badRequest, "validation_failed", "phone: required (other filters are not supported yet)")
        }
        guard let phone = PhoneNumber.e164(raw) else {
            throw APIError(
                .badRequest, "validation_failed", "phone: '\(raw)' is not a valid international phone number")
        }
        let contacts = try await ContactStore.find(phoneE164: phone, on: postgres, logger: logger)
        return try json(Page(items: contacts, nextCursor: nil))
    }
}
