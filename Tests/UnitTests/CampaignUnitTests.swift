import CRMCore
import Foundation
import Outbound
import Storage
import Testing
import WireModels

/// The campaign state machine, the CSV audience's row-by-row checks and the test-send
/// fingerprint (issue 5).
@Suite struct CampaignUnitTests {
    @Test func theStateMachineAllowsOnlyItsTransitions() {
        let allowed: [CampaignState: [CampaignState.Event: CampaignState]] = [
            .draft: [.testPassed: .tested, .launch: .running],
            .tested: [.testInvalidated: .draft, .launch: .running],
            .running: [.pause: .paused, .finish: .done],
            .paused: [.launch: .running],
            .done: [:],
        ]
        for state in CampaignState.allCases {
            for event in CampaignState.Event.allCases {
                #expect(state.after(event) == allowed[state]?[event], "\(state) on \(event)")
            }
        }
        #expect(CampaignState.allCases.filter(\.allowsTestSend) == [.draft, .tested, .paused])
    }

    @Test func csvRowsAreCheckedOneByOneWithTheirRowNumbers() throws {
        let text = [
            "phone,first_name,invoice",
            "+55 11 98765-4321,Ana,F-1",
            "12,Bia,F-2",
            "5511987654321,Ana again,F-3",
            "+5511912345678,,F-4",
            "+5511955554444,Carla",
            "",
            #""+5511933332222","Dora, the second",F-6"#,
            #"+55 (11) 94444-1111,"Eva ""E""",F-7"#,
        ].joined(separator: "\r\n")
        let csv = try AudienceCSV.parse(text, required: ["first_name"])
        #expect(csv.columns == ["phone", "first_name", "invoice"])
        #expect(
            csv.members == [
                AudienceMember(phone: "5511987654321", row: 2, columns: ["first_name": "Ana", "invoice": "F-1"]),
                AudienceMember(
                    phone: "5511933332222", row: 8, columns: ["first_name": "Dora, the second", "invoice": "F-6"]),
                AudienceMember(phone: "5511944441111", row: 9, columns: ["first_name": "Eva \"E\"", "invoice": "F-7"]),
            ])
        #expect(csv.rejected.map(\.row) == [3, 4, 5, 6])
        #expect(csv.rejected[0].reason.hasPrefix("phone 12: "))
        #expect(csv.rejected[1].reason == "phone +5511987654321 duplicates row 2")
        #expect(csv.rejected[2].reason == "missing value for first_name")
        #expect(csv.rejected[3].reason == "has 2 fields, the header has 3")
    }

    @Test func csvFileProblemsRefuseTheWholeFile() {
        #expect(throws: AudienceCSV.Invalid.self) { try AudienceCSV.parse("", required: []) }
        do throws(AudienceCSV.Invalid) {
            _ = try AudienceCSV.parse("name,Name\nAna,A\n", required: ["invoice"])
            Issue.record("a CSV without a phone column was accepted")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.description.contains("no phone column"))
        }
        do throws(AudienceCSV.Invalid) {
            _ = try AudienceCSV.parse("\u{FEFF}Phone,,phone2\n", required: ["invoice"], defaultCountry: "XX")
            Issue.record("a bad header was accepted")
        } catch {
            #expect(
                error.problems == [
                    "header column 2 has no name", "column invoice is missing (the template mapping takes it)",
                    "default_country XX is not an ISO 3166 country code", "the CSV has a header but no rows",
                ])
        }
    }

    @Test func aDefaultCountryReadsNationalNumbers() throws {
        let csv = try AudienceCSV.parse("phone\n(11) 98765-4321\n", required: [], defaultCountry: "br")
        #expect(csv.members.map(\.phone) == ["5511987654321"])
        #expect(csv.rejected.isEmpty)
    }

    @Test func theFingerprintFollowsTheTemplateAndTheMapping() throws {
        var template = TemplateRecord(
            wabaId: "1", name: "invoice_ready", language: "es", templateId: "9", status: "APPROVED",
            category: "UTILITY", parameterFormat: "POSITIONAL",
            components: .array([["type": "BODY", "text": "Hola {{1}}, tu factura {{2}}"]]))
        let bare = try CampaignFingerprint.of(template)
        template.mapping = TemplateMapping(variables: [
            "body.1": .init(source: "campaign", field: "first_name"), "body.2": .init(source: "literal", value: "F-1"),
        ])
        let mapped = try CampaignFingerprint.of(template)
        #expect(mapped != bare)
        #expect(CampaignFingerprint.campaignColumns(template) == ["first_name"])
        var same = template
        same.status = "PAUSED"  // a status change is the policy gate's business, not a new message
        same.syncedAt = Date()
        #expect(try CampaignFingerprint.of(same) == mapped)
        var edited = template
        edited.components = .array([["type": "BODY", "text": "Hola {{1}}, su factura {{2}}"]])
        #expect(try CampaignFingerprint.of(edited) != mapped)
        var remapped = template
        remapped.mapping?.variables["body.2"] = .init(source: "literal", value: "F-2")
        #expect(try CampaignFingerprint.of(remapped) != mapped)
    }
}
