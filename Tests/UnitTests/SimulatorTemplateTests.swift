import Foundation
import Hummingbird
import HummingbirdTesting
import SimulatorService
import Testing
import WireModels

/// The template fixture and `GET /{version}/{waba-id}/message_templates`.
@Suite struct SimulatorTemplateTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/UnitTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("Tools/simulator/Fixtures/templates.json")

    static let headers: HTTPFields = [.authorization: "Bearer \(SimHarness.token)"]

    @Test func bundledCatalogIsTheFixtureFile() throws {
        let file = try TemplateCatalog(file: Self.fixture.path)
        let bundled = try TemplateCatalog.bundled()
        #expect(file.templates.map(\.raw) == bundled.templates.map(\.raw))
    }

    @Test func fixtureCoversWhatTheSenderMeets() throws {
        let templates = try TemplateCatalog.bundled().templates
        #expect(templates.count >= 8)
        #expect(Set(templates.map(\.parameterFormat)) == [.positional, .named])
        #expect(Set(templates.map(\.category)) == ["MARKETING", "UTILITY", "AUTHENTICATION"])
        #expect(Set(templates.map(\.status)).isSuperset(of: ["APPROVED", "PAUSED", "REJECTED", "DISABLED"]))
        #expect(Set(templates.map(\.language)).count >= 3)
        #expect(templates.contains { if case .text(let v) = $0.header { !v.isEmpty } else { false } })
        #expect(templates.contains { if case .media = $0.header { true } else { false } })
        #expect(templates.contains { $0.buttons.contains { $0.requiredParameters > 0 } })
        #expect(Set(templates.map { "\($0.name)/\($0.language)" }).count == templates.count)
    }

    @Test func variablesArePositionalOrNamedInOrder() {
        #expect(TemplateDefinition.variables(in: "Hi {{1}}, {{2}} and {{1}} again") == ["1", "2"])
        #expect(TemplateDefinition.variables(in: "{{ first_name }} / {{end_date}}") == ["first_name", "end_date"])
        #expect(TemplateDefinition.variables(in: "no variables {{") == [])
        #expect(TemplateDefinition.render("Hi {{1}}, {{x}}", values: ["1": "Ana"]) == "Hi Ana, {{x}}")
    }

    @Test func listingPagesThroughAllTemplates() async throws {
        let catalog = try TemplateCatalog.bundled()
        try await SimHarness().run { client in
            var uri: String? = "/v21.0/100000000000001/message_templates?limit=3&fields=name,language,status"
            var seen: [String] = []
            var pages = 0
            while let next = uri {
                let page = try await client.call(.get, next, headers: Self.headers)
                #expect(page.status == 200)
                let data = page.json?["data"]?.arrayValue ?? []
                #expect(!data.isEmpty && data.count <= 3)
                for item in data {
                    #expect(item["components"] == nil, "fields= limits the answer")
                    #expect(item["id"]?.stringValue != nil)
                    seen.append("\(item["name"]?.stringValue ?? "")/\(item["language"]?.stringValue ?? "")")
                }
                let paging = page.json?["paging"]
                #expect(paging?["cursors"]?["before"]?.stringValue != nil)
                #expect(paging?["cursors"]?["after"]?.stringValue != nil)
                #expect((paging?["previous"] != nil) == (pages > 0))
                uri = paging?["next"]?.stringValue.map(Self.pathAndQuery)
                pages += 1
                try #require(pages <= 10)
            }
            #expect(seen == catalog.templates.map { "\($0.name)/\($0.language)" })
            #expect(pages == (catalog.templates.count + 2) / 3)
        }
    }

    @Test func listingGoesBackWithBeforeAndFilters() async throws {
        try await SimHarness().run { client in
            let base = "/v21.0/100000000000001/message_templates"
            let second = try await client.call(.get, base + "?limit=2&after=" + Self.cursor(1), headers: Self.headers)
            let names = second.json?["data"]?.arrayValue.map { $0["id"]?.stringValue ?? "" }
            #expect(names == ["1180402659640003", "1180402659640004"])
            let previous = try #require(second.json?["paging"]?["previous"]?.stringValue)
            let first = try await client.call(.get, Self.pathAndQuery(previous), headers: Self.headers)
            #expect(
                first.json?["data"]?.arrayValue.map { $0["id"]?.stringValue ?? "" }
                    == ["1180402659640001", "1180402659640002"])

            let approved = try await client.call(.get, base + "?status=APPROVED&limit=100", headers: Self.headers)
            let statuses = Set(approved.json?["data"]?.arrayValue.compactMap { $0["status"]?.stringValue } ?? [])
            #expect(statuses == ["APPROVED"])
            #expect(approved.json?["paging"]?["next"] == nil)
            let brazil = try await client.call(.get, base + "?language=pt_BR", headers: Self.headers)
            #expect(brazil.json?["data"]?.arrayValue.count == 2)
            let none = try await client.call(.get, base + "?name=nothing_like_this", headers: Self.headers)
            #expect(none.json == .object(["data": .array([])]))
        }
    }

    @Test func listingChecksTokenWabaAndParameters() async throws {
        try await SimHarness().run { client in
            let base = "/v21.0/100000000000001/message_templates"
            #expect(try await client.call(.get, base).code == 190)
            let otherWaba = try await client.call(.get, "/v21.0/999/message_templates", headers: Self.headers)
            #expect(otherWaba.status == 400)
            #expect(otherWaba.code == 100)
            #expect(try await client.call(.get, base + "?limit=0", headers: Self.headers).code == 100)
            #expect(try await client.call(.get, base + "?after=garbage", headers: Self.headers).code == 100)
        }
    }

    @Test func anotherFixtureFileCanBeServed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sim-templates-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let json = #"[{"name":"only_one","language":"de","status":"APPROVED","category":"UTILITY","components":[]}]"#
        try Data(json.utf8).write(to: file)
        let catalog = try TemplateCatalog(file: file.path)
        #expect(catalog.templates.map(\.name) == ["only_one"])
        #expect(throws: TemplateCatalogError.self) { try TemplateCatalog(json: Data(#"[{"name":"x"}]"#.utf8)) }
        #expect(throws: TemplateCatalogError.self) { try TemplateCatalog(file: "/nonexistent/templates.json") }
    }

    /// `http://host/path?query` → `/path?query`, for the router test client.
    static func pathAndQuery(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return url }
        return components.path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// The listing's cursor for a catalog position (the same encoding the simulator uses).
    static func cursor(_ position: Int) -> String {
        Data("sim:\(position)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
