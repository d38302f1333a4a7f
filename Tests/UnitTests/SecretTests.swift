import Testing
import WireModels

/// A `Secret` never prints, however the value holding it is printed.
struct SecretTests {
    struct Client {
        let baseURL: String
        let token: Secret
    }

    @Test func aSecretIsRedactedInDescriptionsDumpsAndInterpolation() {
        let client = Client(baseURL: "https://graph.example", token: Secret("EAAtopsecret"))
        var dumped = ""
        dump(client, to: &dumped)
        for text in [
            "\(client)", String(describing: client), String(reflecting: client), dumped, "\(client.token)",
            "\([client.token])", "\(Optional(client.token) as Any)",
        ] {
            #expect(!text.contains("EAAtopsecret"), "\(text)")
        }
        #expect("\(client)".contains("<redacted>"))
        #expect(client.token.value == "EAAtopsecret")
    }
}
