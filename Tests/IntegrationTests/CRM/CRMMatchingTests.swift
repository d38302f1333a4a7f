import CRMCore
import Foundation
import Logging
import MatcherService
import PostgresNIO
import Storage
import Testing
import WireModels

/// crm-matcher's transaction on the real PostgreSQL: matching, leads, conversations, consent,
/// attribution and the activity outbox.
@Suite(.timeLimit(.minutes(3)))
struct CRMMatchingTests {
    typealias F = CRMFixtures

    @Test(arguments: [
        ("551187654321", "5511987654321", "+5511987654321"),  // Brazil without / with the mobile 9
        ("5511987654322", "551187654322", "+5511987654322"),  // …and the other way round
        ("5215512345678", "525512345678", "+525512345678"),  // Mexico 521 / 52
        ("5491112345678", "541112345678", "+5491112345678"),  // Argentina 549 / 54
    ])
    func whatsAppVariantsAreOneContact(first: String, second: String, canonical: String) async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message(from: first, name: "Ana")], on: db.client)
        try await F.process([F.message(from: second, name: "Ana")], on: db.client)
        #expect(try await db.count("SELECT 1 FROM contacts") == 1)
        #expect(try await F.string(db, "SELECT phone FROM contacts") == canonical)
        #expect(try await F.string(db, "SELECT wa_id FROM contacts") == second)  // the form WhatsApp uses now
        #expect(try await db.count("SELECT DISTINCT contact_id FROM messages") == 1)
        #expect(try await db.count("SELECT 1 FROM leads WHERE status = 'open'") == 1)
        // The API looks numbers up through the same key, whatever the format typed.
        for typed in ["+" + first, "+" + second, canonical] {
            let key = try #require(ContactMatchKey(typed: typed))
            #expect(try await ContactStore.find(matchKey: key.key, on: db.client, logger: F.logger).count == 1)
        }
    }

    @Test func concurrentFirstMessagesOnSeveralConnectionsMakeOneContactAndOneLead() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let workers = try (0..<8).map { _ in try db.newClient() }
        defer {
            for (_, task) in workers { task.cancel() }
        }
        // Eight workers, each with its own pool, each handed a first message from the same new
        // person, in both of the person's WhatsApp forms.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, (client, _)) in workers.enumerated() {
                group.addTask {
                    let from = i.isMultiple(of: 2) ? "551187650000" : "5511987650000"
                    try await F.process([F.message(from: from, name: "Bia \(i)")], on: client)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await db.count("SELECT 1 FROM contacts") == 1)
        #expect(try await db.count("SELECT 1 FROM leads") == 1)
        #expect(try await db.count("SELECT 1 FROM messages") == 8)
        #expect(try await db.count("SELECT 1 FROM conversations") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.created'") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'lead.opened'") == 1)
    }

    /// The loser of a race on `phone` (not the ON CONFLICT key) gets a unique violation; the
    /// upsert runs again from its savepoint and the batch goes through. The violation is
    /// forced here, once, by a trigger counting with a sequence (a rollback does not undo it).
    @Test func aUniqueViolationOnAnotherColumnIsRetriedFromTheSavepoint() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        for sql in [
            "CREATE SEQUENCE test_upsert_attempts",
            """
            CREATE FUNCTION test_fail_first_upsert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('test_upsert_attempts') = 1 THEN
                    RAISE unique_violation USING MESSAGE = 'forced: duplicate key value violates "contacts_phone_key"';
                END IF;
                RETURN NEW;
            END $$
            """,
            """
            CREATE TRIGGER test_fail_first_upsert BEFORE INSERT ON contacts
                FOR EACH ROW EXECUTE FUNCTION test_fail_first_upsert()
            """,
        ] {
            try await db.client.query(PostgresQuery(unsafeSQL: sql))
        }
        try await F.process([F.message(from: "5511987650001", name: "Caio")], on: db.client)
        #expect(try await db.count("SELECT 1 FROM contacts") == 1)
        #expect(try await db.count("SELECT 1 FROM leads") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.created'") == 1)
        #expect(try await F.string(db, "SELECT last_value::text FROM test_upsert_attempts") == "2")
    }

    @Test func userChangedNumberMovesTheContactAndKeepsItsHistory() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message(from: "972501234567", name: "User A", text: "first")], on: db.client)
        let id = try #require(try await F.string(db, "SELECT id::text FROM contacts"))
        let change = F.message(
            "wamid.change1", from: "972501234567", text: nil, type: "system",
            at: Date(timeIntervalSince1970: 1_764_090_100)
        ) {
            $0.system = .init(
                type: "user_changed_number", body: "User A changed from 972501234567 to 972521234567",
                newWaId: "972521234567")
        }
        try await F.process([change], on: db.client)
        try await F.process([change], on: db.client)  // redelivered: nothing more happens
        try await F.process(
            [F.message(from: "972521234567", name: "User A", text: "from my new number")], on: db.client)

        #expect(try await db.count("SELECT 1 FROM contacts") == 1)
        #expect(try await F.string(db, "SELECT phone FROM contacts") == "+972521234567")
        #expect(try await F.string(db, "SELECT wa_id FROM contacts") == "972521234567")
        #expect(try await db.count("SELECT 1 FROM messages WHERE contact_id = '\(id)'") == 3)
        #expect(
            try await db.count(
                """
                SELECT 1 FROM contact_number_changes WHERE contact_id = '\(id)' AND old_phone = '+972501234567'
                  AND new_phone = '+972521234567' AND outcome = 'moved'
                """) == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.number_changed'") == 1)
        // A number change is no enquiry: still the one lead of the first message.
        #expect(try await db.count("SELECT 1 FROM leads") == 1)
    }

    @Test func aNameSetThroughTheAPIIsNeverOverwrittenByTheProfileName() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        try await F.process([F.message(from: "5511976543210", name: "Ana")], on: db.client)
        try await F.process([F.message(from: "5511976543210", name: "Ana Maria")], on: db.client)
        #expect(try await F.string(db, "SELECT name FROM contacts") == "Ana Maria")  // WhatsApp's name follows
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.name_changed'") == 1)

        let id = try await F.id(db, "SELECT id::text FROM contacts")
        _ = try await db.client.transaction(logger: F.logger) { conn in
            try await ContactStore.update(
                id: id, name: .set("Dona Ana (VIP)"), ownerId: nil, tags: [], on: conn, logger: F.logger)
        }
        try await F.process([F.message(from: "5511976543210", name: "ana")], on: db.client)
        #expect(try await F.string(db, "SELECT name FROM contacts") == "Dona Ana (VIP)")
        #expect(try await F.string(db, "SELECT name_source FROM contacts") == "api")
        #expect(try await F.string(db, "SELECT profile_name FROM contacts") == "ana")  // still kept up to date
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.name_changed'") == 1)

        // Clearing the typed name hands it back to WhatsApp.
        _ = try await db.client.transaction(logger: F.logger) { conn in
            try await ContactStore.update(id: id, name: .clear, ownerId: nil, tags: [], on: conn, logger: F.logger)
        }
        #expect(try await F.string(db, "SELECT name FROM contacts") == "ana")
        #expect(try await F.string(db, "SELECT name_source FROM contacts") == "whatsapp")
    }

    @Test func aWonLeadLetsTheNextEnquiryOpenANewOne() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let t0 = Date(timeIntervalSince1970: 1_764_090_000)
        try await F.process([F.message(from: "447911123456", text: "Hi, a quote please", at: t0)], on: db.client)
        try await F.process(
            [F.message(from: "447911123456", text: "any news?", at: t0.addingTimeInterval(3600))], on: db.client)
        #expect(try await db.count("SELECT 1 FROM leads") == 1)  // the repeat attaches to the open lead
        #expect(try await db.count("SELECT 1 FROM conversations") == 1)  // within the idle window

        let leadId = try await F.id(db, "SELECT id::text FROM leads")
        _ = try await db.client.transaction(logger: F.logger) { conn in
            try await LeadStore.update(
                id: leadId, status: "won", stage: "closed", ownerId: nil, on: conn, logger: F.logger)
        }
        // Two days later: a new conversation and, the old lead being won, a new lead.
        try await F.process(
            [F.message(from: "447911123456", text: "I need another one", at: t0.addingTimeInterval(2 * 86400))],
            on: db.client)
        #expect(try await db.count("SELECT 1 FROM leads") == 2)
        #expect(try await db.count("SELECT 1 FROM leads WHERE status = 'open'") == 1)
        #expect(try await db.count("SELECT 1 FROM conversations") == 2)
        #expect(try await db.count("SELECT 1 FROM conversations WHERE closed_at IS NULL") == 1)
        // The one-open-lead rule is the database's: reopening the won lead is refused.
        await #expect(throws: LeadStore.AnotherLeadIsOpen.self) {
            _ = try await db.client.transaction(logger: F.logger) { conn in
                try await LeadStore.update(
                    id: leadId, status: "open", stage: "new", ownerId: nil, on: conn, logger: F.logger)
            }
        }
    }

    @Test func aReplyToACampaignMessageIsAttributedToTheCampaign() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let campaign = UUID()
        try await db.client.query(
            """
            INSERT INTO messages (wamid, direction, phone_number_id, counterpart_wa_id, type, template, campaign_id)
            VALUES ('wamid.CAMPAIGN1', 'outbound', \(F.phoneNumberId), '5511955554444', 'template', 'promo', \(campaign))
            """)
        let reply = F.message(
            from: "5511955554444", name: "Caio", text: "Quero saber mais", type: "button", contextId: "wamid.CAMPAIGN1"
        ) {
            $0.reply = .init(
                kind: "quick_reply", id: nil, title: "Quero saber mais", description: nil, payload: "PROMO_YES",
                responseJSON: nil)
        }
        try await F.process([reply], on: db.client)
        #expect(try await F.string(db, "SELECT campaign_id::text FROM leads") == campaign.uuidString.lowercased())
        #expect(try await F.string(db, "SELECT source->>'channel' FROM leads") == "campaign")
        #expect(try await F.string(db, "SELECT source->>'quick_reply_payload' FROM leads") == "PROMO_YES")
        #expect(try await F.string(db, "SELECT source->>'phone_number_id' FROM contacts") == F.phoneNumberId)
        #expect(
            try await F.string(db, "SELECT lower(source->>'campaign_id') FROM contacts")
                == campaign.uuidString.lowercased())

        // A click-to-WhatsApp ad is the source of another contact's lead.
        let ad = F.message(from: "5511955553333", text: "Vi o anúncio") {
            $0.referral = .init(
                sourceURL: "https://fb.me/ad", sourceId: "ad-42", sourceType: "ad", headline: "Promo", body: nil,
                mediaType: nil, ctwaClid: "clid-1")
        }
        try await F.process([ad], on: db.client)
        #expect(
            try await F.string(
                db, "SELECT l.source->'referral'->>'source_id' FROM leads l WHERE l.source->>'channel' = 'ad'")
                == "ad-42")
    }

    @Test func stopThenStartIsRecordedInTheLedgerOnce() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let t0 = Date(timeIntervalSince1970: 1_764_090_000)
        let stop = F.message("wamid.STOP1", from: "5511944443333", text: " Stop! ", at: t0)
        let start = F.message("wamid.START1", from: "5511944443333", text: "start", at: t0.addingTimeInterval(60))
        try await F.process([F.message(from: "5511944443333", text: "please don't stop the delivery")], on: db.client)
        #expect(try await db.count("SELECT 1 FROM consent_ledger") == 0)  // a sentence is no keyword

        try await F.process([stop], on: db.client)
        #expect(try await db.count("SELECT 1 FROM contacts WHERE opted_out") == 1)
        try await F.process([stop], on: db.client)  // redelivered
        try await F.process([start], on: db.client)
        try await F.process([stop, start], on: db.client)  // both redelivered in one batch
        #expect(try await db.count("SELECT 1 FROM contacts WHERE NOT opted_out") == 1)
        #expect(
            try await db.count(
                """
                SELECT 1 FROM consent_ledger WHERE how = 'keyword' AND
                  ((opted_out AND wamid = 'wamid.STOP1' AND detail = 'STOP')
                   OR (NOT opted_out AND wamid = 'wamid.START1' AND detail = 'START'))
                """) == 2)
        #expect(try await db.count("SELECT 1 FROM consent_ledger") == 2)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.opted_out'") == 1)
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE kind = 'contact.opted_in'") == 1)

        // Keywords are configurable, accents and case do not matter.
        let settings = MatcherSettings(keywords: ConsentKeywords(optOut: ["ARRÊT"], optIn: ["REPRENDRE"]))
        try await F.process([F.message(from: "33612345678", text: "arret")], on: db.client, settings: settings)
        #expect(try await db.count("SELECT 1 FROM contacts WHERE opted_out") == 1)
    }

    @Test func aRedeliveredBatchChangesNothingAndEmitsNothing() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let batch = [
            F.message(from: "5511933332222", name: "Duda", text: "oi"),
            F.message(from: "5511933332222", name: "Duda", text: "tudo bem?"),
            F.message(from: "5215512340000", name: "Pepe", text: "hola"),
        ]
        let first = try await F.process(batch, on: db.client)
        // Two contacts created, two leads opened, two conversations opened.
        #expect(first.activities.count == 6)
        let second = try await F.process(batch, on: db.client)
        #expect(second.isEmpty)
        #expect(try await db.count("SELECT 1 FROM crm_activity") == 6)
        #expect(try await db.count("SELECT 1 FROM contacts WHERE version = 1") == 2)
        // Event ids are `kind:entity_id:version`.
        let leadId = try #require(try await F.string(db, "SELECT upper(id::text) FROM leads LIMIT 1"))
        #expect(try await db.count("SELECT 1 FROM crm_activity WHERE event_id = 'lead.opened:\(leadId):1'") == 1)
    }

    @Test func theFirstOutboundMessageAfterAnInboundIsTheFirstResponse() async throws {
        let db = try await F.migrated()
        defer { db.close() }
        let t0 = Date()
        try await F.process([F.message(from: "5511922221111", text: "oi", at: t0)], on: db.client)
        let contact = try await F.id(db, "SELECT id::text FROM contacts")
        let answered = try await db.client.transaction(logger: F.logger) { conn in
            try await ConversationStore.recordOutbound(
                contactId: contact, phoneNumberId: F.phoneNumberId, wamid: "wamid.OUT1", at: t0.addingTimeInterval(90),
                on: conn, logger: F.logger)
        }
        #expect(answered != nil)
        let again = try await db.client.transaction(logger: F.logger) { conn in
            try await ConversationStore.recordOutbound(
                contactId: contact, phoneNumberId: F.phoneNumberId, wamid: "wamid.OUT2",
                at: t0.addingTimeInterval(200), on: conn, logger: F.logger)
        }
        #expect(again == nil)
        #expect(try await F.string(db, "SELECT first_response_wamid FROM conversations") == "wamid.OUT1")
    }
}
