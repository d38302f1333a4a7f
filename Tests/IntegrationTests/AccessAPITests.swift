import Foundation
import GatewayService
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceKit
import Storage
import Testing
import WireModels

/// The operator API on the real router and a real database: tokens, roles and scopes, the
/// audit log, write-only secrets, validation and paging, and the OpenAPI document.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct AccessAPITests {
    @Test func tokenIsShownOnceWorksAndStopsWorkingWhenRevokedOrExpired() async throws {
        try await APIHarness.run { h, c in
            let (agentId, _) = try await h.user(c, role: "agent", name: "Ana")
            let created = try await h.call(
                c, .post, "/api/v1/tokens", token: h.adminToken,
                body: ["user_id": .string(agentId.uuidString), "name": "laptop"])
            #expect(created.status == .created)
            let token = try #require(created["token"]?.stringValue)
            let tokenId = try #require(created["id"]?.stringValue)
            #expect(created["user_id"]?.stringValue?.lowercased() == agentId.uuidString.lowercased())
            // Stored hashed: the clear token is nowhere in the table.
            #expect(try await h.db.count("SELECT 1 FROM api_tokens WHERE token_sha256 = '\(token)'") == 0)
            #expect(
                try await h.db.count(
                    "SELECT 1 FROM api_tokens WHERE token_sha256 = '\(Hashing.sha256Hex(Array(token.utf8)))'") == 1)
            // It works (an agent asking for a message that is not theirs gets 404, not 401).
            #expect(try await h.call(c, .get, "/api/v1/messages/wamid.X", token: token).status == .notFound)
            // Never shown again: no read endpoint returns it.
            #expect(!h.allResponseBodies.dropFirst(3).contains { $0.contains(token) })

            // Listed (metadata only) for its user and for admins; not for other users.
            let listed = try await h.call(c, .get, "/api/v1/tokens?user_id=\(agentId)", token: h.adminToken)
            let listedIds = listed.items.compactMap { $0["id"]?.stringValue }
            #expect(listedIds.contains(tokenId))
            let own = try await h.call(c, .get, "/api/v1/tokens", token: token)
            #expect(own.status == .ok)
            #expect(own.items.allSatisfy { $0["user_id"]?.stringValue == agentId.uuidString })
            #expect(own.items.count == 2)
            #expect(try await h.call(c, .get, "/api/v1/tokens?all=true", token: token).status == .forbidden)
            #expect(!h.allResponseBodies.dropFirst(3).contains { $0.contains(token) })

            #expect(try await h.call(c, .delete, "/api/v1/tokens/\(tokenId)", token: h.adminToken).status == .noContent)
            #expect(try await h.call(c, .get, "/api/v1/messages/wamid.X", token: token).status == .unauthorized)

            // A deactivated user's tokens stop working too.
            let (leaverId, leaver) = try await h.user(c, role: "manager", name: "Leo")
            #expect(try await h.call(c, .get, "/api/v1/users", token: leaver).status == .ok)
            #expect(
                try await h.call(c, .patch, "/api/v1/users/\(leaverId)", token: h.adminToken, body: ["active": false])
                    .status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/users", token: leaver).status == .unauthorized)

            let (_, expiring) = try await h.user(c, role: "manager", name: "Mia")
            #expect(try await h.call(c, .get, "/api/v1/users", token: expiring).status == .ok)
            let expiringHash = Hashing.sha256Hex(Array(expiring.utf8))
            try await h.db.client.query(
                "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE token_sha256 = \(expiringHash)")
            #expect(try await h.call(c, .get, "/api/v1/users", token: expiring).status == .unauthorized)
            #expect(try await h.call(c, .get, "/api/v1/users", token: "crm_not-a-token").status == .unauthorized)
            #expect(try await h.call(c, .get, "/api/v1/users", token: nil).status == .unauthorized)
        }
    }

    @Test func rolesAreEnforcedAndAgentsSeeOnlyWhatTheyOwn() async throws {
        try await APIHarness.run { h, c in
            let (agentA, tokenA) = try await h.user(c, role: "agent", name: "Alice")
            let (agentB, tokenB) = try await h.user(c, role: "agent", name: "Bob")
            let (managerId, manager) = try await h.user(c, role: "manager", name: "Max")

            // 403: things an agent may never do.
            for (method, path) in [
                (HTTPRequest.Method.get, "/api/v1/users"), (.get, "/api/v1/accounts"), (.get, "/api/v1/phone-numbers"),
                (.get, "/api/v1/audit-log"), (.get, "/api/v1/failures"), (.post, "/api/v1/failures/1/replay"),
            ] {
                #expect(try await h.call(c, method, path, token: tokenA).status == .forbidden, "\(method) \(path)")
            }
            #expect(
                try await h.call(c, .post, "/api/v1/accounts", token: tokenA, body: ["waba_id": "1", "name": "x"])
                    .status
                    == .forbidden)
            // Managers read users, accounts and the audit log, but do not write users/accounts.
            for path in ["/api/v1/users", "/api/v1/accounts", "/api/v1/phone-numbers", "/api/v1/audit-log"] {
                #expect(try await h.call(c, .get, path, token: manager).status == .ok, "\(path)")
            }
            #expect(try await h.call(c, .get, "/api/v1/failures", token: manager).status == .forbidden)
            #expect(
                try await h.call(c, .post, "/api/v1/users", token: manager, body: ["name": "Z", "role": "agent"]).status
                    == .forbidden)
            #expect(
                try await h.call(c, .patch, "/api/v1/users/\(agentA)", token: manager, body: ["active": false]).status
                    == .forbidden)
            // Tokens: for oneself, anyone; for someone else, only an admin.
            #expect(
                try await h.call(
                    c, .post, "/api/v1/tokens", token: manager,
                    body: ["user_id": .string(agentA.uuidString), "name": "sneaky"]
                ).status == .forbidden)
            let own = try await h.call(c, .post, "/api/v1/tokens", token: manager, body: ["name": "own"])
            #expect(own.status == .created)
            #expect(own["user_id"]?.stringValue?.lowercased() == managerId.uuidString.lowercased())
            // An agent cannot revoke another user's token: out of scope, 404.
            let bTokenId = try await h.db.client.query(
                "SELECT id FROM api_tokens WHERE user_id = \(agentB) LIMIT 1")
            var bId: UUID?
            for try await id in bTokenId.decode(UUID.self) { bId = id }
            let otherTokenId = try #require(bId)
            #expect(try await h.call(c, .delete, "/api/v1/tokens/\(otherTokenId)", token: tokenA).status == .notFound)
            #expect(try await h.call(c, .get, "/api/v1/users", token: tokenB).status == .forbidden)

            // CRM data: Alice owns contact A with one message and one send; Bob owns contact B.
            try await h.db.client.query(
                """
                INSERT INTO contacts (phone, wa_id, owner_id) VALUES ('+5511987654321', '5511987654321', \(agentA)),
                                                                     ('+5511987654322', '5511987654322', \(agentB))
                """)
            try await h.db.client.query(
                """
                INSERT INTO messages (wamid, direction, contact_id, type, text)
                SELECT 'wamid.' || wa_id, 'inbound', id, 'text', 'hi' FROM contacts
                """)
            try await h.db.client.query(
                """
                INSERT INTO send_requests (request_id, to_wa_id, payload, state, requested_by)
                VALUES ('send-a', '5511987654321', '{}', 'sent', 'someone'), ('send-b', '5511987654322', '{}', 'sent', 'x')
                """)
            #expect(try await h.call(c, .get, "/api/v1/messages/wamid.5511987654321", token: tokenA).status == .ok)
            #expect(
                try await h.call(c, .get, "/api/v1/messages/wamid.5511987654322", token: tokenA).status == .notFound)
            #expect(try await h.call(c, .get, "/api/v1/messages/wamid.5511987654322", token: tokenB).status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/messages/wamid.5511987654321", token: manager).status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/sends/send-a", token: tokenA).status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/sends/send-b", token: tokenA).status == .notFound)
            #expect(try await h.call(c, .get, "/api/v1/sends/send-b", token: manager).status == .ok)
            // Sends: an agent only to a contact they own.
            let toB = try await h.call(
                c, .post, "/api/v1/messages", token: tokenA, body: ["to": "+55 11 98765-4322", "text": "hello"])
            #expect(toB.status == .notFound, "\(toB.text)")
            let toA = try await h.call(
                c, .post, "/api/v1/messages", token: tokenA, body: ["to": "+55 11 98765-4321", "text": "hello"])
            #expect(toA.status == .accepted, "\(toA.text)")
            let requestId = try #require(toA["request_id"]?.stringValue)
            let actor = agentA.uuidString.lowercased()
            #expect(
                try await h.db.count(
                    "SELECT 1 FROM audit_log WHERE entity = 'send_request' AND entity_id = '\(requestId)' AND actor = '\(actor)'"
                )
                    == 1)
        }
    }

    @Test func everyWriteIsAuditedWithBeforeAndAfter() async throws {
        try await APIHarness.run { h, c in
            let user = try await h.call(
                c, .post, "/api/v1/users", token: h.adminToken,
                body: ["name": "Ann", "email": "ann@example.com", "role": "agent", "department": "sales"])
            let userId = try #require(user["id"]?.stringValue)
            #expect(
                try await h.call(
                    c, .patch, "/api/v1/users/\(userId)", token: h.adminToken,
                    body: ["department": .null, "role": "manager"]
                ).status == .ok)
            let token = try await h.call(
                c, .post, "/api/v1/tokens", token: h.adminToken, body: ["user_id": .string(userId), "name": "t"])
            let tokenId = try #require(token["id"]?.stringValue)
            #expect(try await h.call(c, .delete, "/api/v1/tokens/\(tokenId)", token: h.adminToken).status == .noContent)
            let account = try await h.call(
                c, .post, "/api/v1/accounts", token: h.adminToken, body: ["waba_id": "1001", "name": "Main"])
            let accountId = try #require(account["id"]?.stringValue)
            #expect(
                try await h.call(
                    c, .patch, "/api/v1/accounts/\(accountId)", token: h.adminToken, body: ["name": "Main BR"]
                )
                .status == .ok)
            let number = try await h.call(
                c, .post, "/api/v1/phone-numbers", token: h.adminToken,
                body: ["phone_number_id": "2002", "account_id": .string(accountId), "messages_per_second": 20])
            #expect(number.status == .created, "\(number.text)")
            let numberId = try #require(number["id"]?.stringValue)
            #expect(
                try await h.call(
                    c, .patch, "/api/v1/phone-numbers/\(numberId)", token: h.adminToken,
                    body: ["tier": "TIER_10K", "department": "support"]
                ).status == .ok)

            let log = try await h.call(c, .get, "/api/v1/audit-log?limit=500", token: h.adminToken)
            #expect(log.status == .ok)
            // Ids are case-insensitive (the API writes UUIDs upper-case, PostgreSQL lower-case).
            let entries = log.items.map {
                "\($0["action"]?.stringValue ?? "") \($0["entity"]?.stringValue ?? "") \($0["entity_id"]?.stringValue ?? "")"
                    .lowercased()
            }
            for expected in [
                "create user \(userId)", "update user \(userId)", "create token \(tokenId)", "revoke token \(tokenId)",
                "create account \(accountId)", "update account \(accountId)", "create phone_number \(numberId)",
                "update phone_number \(numberId)",
            ] {
                #expect(entries.contains(expected.lowercased()), "missing audit entry: \(expected) in \(entries)")
            }
            let update = try #require(log.items.first { $0["action"] == "update" && $0["entity"] == "user" })
            #expect(update["before"]?["department"] == "sales")
            #expect(update["after"]?["department"] == nil, "a cleared field is absent from the record")
            #expect(update["before"]?["role"] == "agent")
            #expect(update["after"]?["role"] == "manager")
            let created = try #require(log.items.first { $0["action"] == "create" && $0["entity"] == "user" })
            #expect(created["before"] == .null)
            #expect(created["after"]?["email"] == "ann@example.com")
            let phoneUpdate = try #require(
                log.items.first { $0["action"] == "update" && $0["entity"] == "phone_number" })
            #expect(phoneUpdate["before"]?["tier"] == "TIER_1K")
            #expect(phoneUpdate["after"]?["tier"] == "TIER_10K")
            // Every entry names the admin who made it.
            let adminId = try #require(created["actor"]?.stringValue)
            #expect(log.items.allSatisfy { $0["actor"]?.stringValue == adminId })

            // Filters and cursor paging.
            let tokens = try await h.call(c, .get, "/api/v1/audit-log?entity=token", token: h.adminToken)
            #expect(tokens.items.count == 2)
            #expect(
                try await h.call(c, .get, "/api/v1/audit-log?actor=\(UUID().uuidString)", token: h.adminToken).items
                    .isEmpty)
            let byAdmin = try await h.call(
                c, .get, "/api/v1/audit-log?limit=500&actor=\(adminId.uppercased())", token: h.adminToken)
            #expect(byAdmin.items.count == log.items.count)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await h.call(
                    c, .get, "/api/v1/audit-log?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), token: h.adminToken)
                #expect(page.status == .ok)
                seen += page.items.compactMap { $0["id"]?.stringValue }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen == log.items.compactMap { $0["id"]?.stringValue })
            let future = RFC3339.string(from: Date().addingTimeInterval(60))
            #expect(try await h.call(c, .get, "/api/v1/audit-log?since=\(future)", token: h.adminToken).items.isEmpty)
        }
    }

    @Test func secretsAreWriteOnlyEncryptedAndNeverLoggedOrReturned() async throws {
        try await APIHarness.run { h, c in
            let secrets = [
                "EAAG-access-\(UUID().uuidString)", "app-secret-\(UUID().uuidString)", "verify-\(UUID().uuidString)",
            ]
            let created = try await h.call(
                c, .post, "/api/v1/accounts", token: h.adminToken,
                body: [
                    "waba_id": "3003", "name": "Secret BR", "access_token": .string(secrets[0]),
                    "app_secret": .string(secrets[1]), "verify_token": .string(secrets[2]),
                ])
            #expect(created.status == .created, "\(created.text)")
            #expect(created["access_token_set"] == true)
            #expect(created["app_secret_set"] == true)
            #expect(created["verify_token_set"] == true)
            let id = try #require(created["id"]?.stringValue)
            let rotated = "EAAG-rotated-\(UUID().uuidString)"
            let patched = try await h.call(
                c, .patch, "/api/v1/accounts/\(id)", token: h.adminToken,
                body: ["access_token": .string(rotated), "verify_token": .null])
            #expect(patched.status == .ok)
            #expect(patched["verify_token_set"] == false)
            #expect(try await h.call(c, .get, "/api/v1/accounts/\(id)", token: h.adminToken).status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/accounts", token: h.adminToken).status == .ok)
            #expect(try await h.call(c, .get, "/api/v1/audit-log?entity=account", token: h.adminToken).items.count == 2)

            // Encrypted at rest, with the configured key.
            let stored = try await AccountStore.secrets(
                wabaId: "3003", box: h.box, on: h.db.client, logger: .init(label: "t"))
            #expect(stored?.accessToken == rotated)
            #expect(stored?.appSecret == secrets[1])
            #expect(stored?.verifyToken == nil)
            let raw = try await h.db.client.query(
                "SELECT encode(access_token_enc, 'escape') || encode(app_secret_enc, 'escape') FROM wa_accounts")
            for try await text in raw.decode(String.self) {
                #expect(!text.contains(rotated) && !text.contains(secrets[1]))
            }
            let audit = try await h.db.client.query("SELECT coalesce(before::text, '') || after::text FROM audit_log")
            for try await text in audit.decode(String.self) {
                for s in secrets + [rotated] { #expect(!text.contains(s), "secret in the audit log") }
            }
            // Never in a response or a log line.
            for s in secrets + [rotated] {
                #expect(!h.allResponseBodies.contains { $0.contains(s) }, "secret in a response")
                #expect(!h.logs.lines.contains { $0.contains(s) }, "secret in a log line")
            }
            #expect(!h.logs.lines.isEmpty)
        }
    }

    @Test func bodiesWithANULOrThatAreNoObjectAre400s() async throws {
        try await APIHarness.run { h, c in
            // Found by schemathesis: both were 500s. PostgreSQL stores no NUL in text, so a
            // \u0000 anywhere in a body is refused up front (an escaped backslash before "u0000"
            // is plain text); a body that is JSON but not the expected object is a 400.
            for path in ["/api/v1/users", "/api/v1/accounts", "/api/v1/messages"] {
                let nul = try await h.call(
                    c, .post, path, token: h.adminToken, raw: #"{"name":"Ana\u0000","role":"admin"}"#)
                #expect(nul.status == .badRequest && nul["error"]?["code"] == "invalid_json", "\(path): \(nul.text)")
            }
            let backslash = try await h.call(
                c, .post, "/api/v1/users", token: h.adminToken, raw: #"{"name":"C:\\u0000dir","role":"agent"}"#)
            #expect(backslash.status == .created, "\(backslash.text)")
            let nullBody = try await h.call(
                c, .post, "/api/v1/templates/welcome/en_US/test-send", token: h.adminToken, raw: "null")
            #expect(nullBody.status == .badRequest && nullBody["error"]?["code"] == "invalid_json", "\(nullBody.text)")
        }
    }

    @Test func validationListsEveryBadFieldAndRefusesUnknownOnes() async throws {
        try await APIHarness.run { h, c in
            let bad = try await h.call(
                c, .post, "/api/v1/users", token: h.adminToken,
                body: ["role": "boss", "email": "not-an-email", "nickname": "x", "active": "yes"])
            #expect(bad.status == .badRequest)
            #expect(bad["error"]?["code"] == "validation_failed")
            #expect(Set(bad.badFields) == ["name", "role", "email", "nickname", "active"], "\(bad.text)")

            let phone = try await h.call(
                c, .post, "/api/v1/phone-numbers", token: h.adminToken,
                body: ["phone_number_id": "abc", "messages_per_second": 0, "tier": "GOLD"])
            #expect(
                Set(phone.badFields) == ["phone_number_id", "messages_per_second", "tier", "account_id"],
                "\(phone.text)")

            let notJSON = try await h.call(c, .post, "/api/v1/accounts", token: h.adminToken, raw: "{nope")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON["error"]?["code"] == "invalid_json")

            let paging = try await h.call(c, .get, "/api/v1/users?limit=501&cursor=%%%", token: h.adminToken)
            #expect(paging.status == .badRequest)
            #expect(Set(paging.badFields) == ["limit", "cursor"], "\(paging.text)")

            // Conflicts and unknown records.
            #expect(
                try await h.call(
                    c, .post, "/api/v1/accounts", token: h.adminToken, body: ["waba_id": "9", "name": "a"]
                )
                .status == .created)
            #expect(
                try await h.call(
                    c, .post, "/api/v1/accounts", token: h.adminToken, body: ["waba_id": "9", "name": "b"]
                )
                .status == .conflict)
            #expect(
                try await h.call(c, .patch, "/api/v1/users/\(UUID())", token: h.adminToken, body: ["name": "x"]).status
                    == .notFound)
            #expect(
                try await h.call(
                    c, .post, "/api/v1/phone-numbers", token: h.adminToken,
                    body: ["phone_number_id": "77", "account_id": .string(UUID().uuidString)]
                ).status == .unprocessableContent)
            // The last active admin cannot be deactivated.
            let me = try await h.call(c, .get, "/api/v1/users", token: h.adminToken)
            let adminId = try #require(me.items.first { $0["role"] == "admin" }?["id"]?.stringValue)
            #expect(
                try await h.call(c, .patch, "/api/v1/users/\(adminId)", token: h.adminToken, body: ["active": false])
                    .status == .conflict)

            // Users page through with an opaque cursor.
            for i in 0..<4 {
                _ = try await h.call(
                    c, .post, "/api/v1/users", token: h.adminToken, body: ["name": .string("U\(i)"), "role": "agent"])
            }
            let first = try await h.call(c, .get, "/api/v1/users?limit=3", token: h.adminToken)
            #expect(first.items.count == 3)
            let next = try #require(first["next_cursor"]?.stringValue)
            let second = try await h.call(c, .get, "/api/v1/users?limit=3&cursor=\(next)", token: h.adminToken)
            #expect(second.items.count == 2)
            #expect(second["next_cursor"] == .null)
        }
    }

    @Test func openAPIDocumentDescribesEveryRegisteredRoute() async throws {
        try await APIHarness.run { h, c in
            let reply = try await h.call(c, .get, "/api/v1/openapi.json", token: nil)
            #expect(reply.status == .ok)
            let doc = try #require(reply.json)
            #expect(doc["openapi"] == "3.1.0")
            let paths = try #require(doc["paths"])
            #expect(!h.router.routes.isEmpty)
            for route in h.router.routes {
                let path = OpenAPIDocument.openAPIPath(route.path.description)
                let method = route.method.rawValue.lowercased()
                #expect(paths[path]?[method] != nil, "route \(route.method) \(route.path) is not in openapi.json")
            }
        }
    }

    /// A token cannot outlive the token that made it; revoking a token revokes its offspring;
    /// a revoked bootstrap token stays revoked when the gateway starts again.
    @Test func tokensNeverOutliveTheirMakerAndRevocationReachesTheirOffspring() async throws {
        try await APIHarness.run { h, c in
            let inOneHour = RFC3339.string(from: Date().addingTimeInterval(3600))
            let parent = try await h.call(
                c, .post, "/api/v1/tokens", token: h.adminToken,
                body: ["name": "parent", "expires_at": .string(inOneHour)])
            #expect(parent.status == .created, "\(parent.text)")
            let parentToken = try #require(parent["token"]?.stringValue)
            let parentId = try #require(parent["id"]?.stringValue)

            let longer = try await h.call(
                c, .post, "/api/v1/tokens", token: parentToken,
                body: ["name": "longer", "expires_at": .string(RFC3339.string(from: Date().addingTimeInterval(7200)))])
            #expect(longer.status == .badRequest)
            #expect(longer.badFields == ["expires_at"], "\(longer.text)")
            // Without expires_at the child expires with its maker.
            let child = try await h.call(c, .post, "/api/v1/tokens", token: parentToken, body: ["name": "child"])
            #expect(child.status == .created, "\(child.text)")
            #expect(child["expires_at"]?.stringValue == parent["expires_at"]?.stringValue)
            let childToken = try #require(child["token"]?.stringValue)
            let grandchild = try await h.call(c, .post, "/api/v1/tokens", token: childToken, body: ["name": "gc"])
            let grandchildToken = try #require(grandchild["token"]?.stringValue)
            for token in [parentToken, childToken, grandchildToken] {
                #expect(try await h.call(c, .get, "/api/v1/tokens", token: token).status == .ok)
            }
            // Revoking the parent revokes the whole line, each revocation audited.
            #expect(
                try await h.call(c, .delete, "/api/v1/tokens/\(parentId)", token: h.adminToken).status == .noContent)
            for token in [parentToken, childToken, grandchildToken] {
                #expect(try await h.call(c, .get, "/api/v1/tokens", token: token).status == .unauthorized)
            }
            #expect(try await h.db.count("SELECT 1 FROM audit_log WHERE action = 'revoke' AND entity = 'token'") == 3)

            // The bootstrap token: revoked through the API, still revoked after a restart.
            let own = try await h.call(c, .get, "/api/v1/tokens", token: h.adminToken)
            let bootstrapId = try #require(
                own.items.first { $0["name"]?.stringValue == "bootstrap" }?["id"]?.stringValue)
            #expect(
                try await h.call(c, .delete, "/api/v1/tokens/\(bootstrapId)", token: h.adminToken).status == .noContent)
            try await TokenStore.ensureBootstrapAdmin(
                token: h.adminToken, on: h.db.client, logger: Logger(label: "restart"))
            #expect(try await h.call(c, .get, "/api/v1/tokens", token: h.adminToken).status == .unauthorized)
        }
    }
}
