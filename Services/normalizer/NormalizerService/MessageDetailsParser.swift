import WireModels

/// Reads the typed details of one Meta message object (see `MessageDetails`).
enum MessageDetailsParser {
    static func parse(_ m: JSONValue, type: String) -> MessageDetails {
        var d = MessageDetails(known: MessageDetails.knownTypes.contains(type))
        if let c = m["context"] {
            d.context = .init(
                id: c["id"]?.stringValue, from: c["from"]?.stringValue, forwarded: c["forwarded"]?.boolValue ?? false,
                frequentlyForwarded: c["frequently_forwarded"]?.boolValue ?? false,
                referredProductId: c["referred_product"]?["product_retailer_id"]?.stringValue)
        }
        if let r = m["referral"] {
            d.referral = .init(
                sourceURL: r["source_url"]?.stringValue, sourceId: r["source_id"]?.stringValue,
                sourceType: r["source_type"]?.stringValue, headline: r["headline"]?.stringValue,
                body: r["body"]?.stringValue, mediaType: r["media_type"]?.stringValue,
                ctwaClid: r["ctwa_clid"]?.stringValue)
        }
        d.errors = (m["errors"]?.arrayValue ?? []).compactMap(WhatsAppError.init(meta:))
        switch type {
        case "image", "video", "audio", "document", "sticker":
            d.media = media(m[type], type: type)
        case "location":
            let l = m["location"]
            d.location = .init(
                latitude: l?["latitude"]?.doubleValue, longitude: l?["longitude"]?.doubleValue,
                name: l?["name"]?.stringValue, address: l?["address"]?.stringValue, url: l?["url"]?.stringValue)
        case "contacts":
            d.sharedContacts = m["contacts"]
        case "reaction":
            let emoji = m["reaction"]?["emoji"]?.stringValue
            d.reaction = .init(
                messageId: m["reaction"]?["message_id"]?.stringValue, emoji: emoji,
                removed: emoji?.isEmpty ?? true)
        case "button":
            d.reply = .init(
                kind: "quick_reply", id: nil, title: m["button"]?["text"]?.stringValue, description: nil,
                payload: m["button"]?["payload"]?.stringValue, responseJSON: nil)
        case "interactive":
            d.reply = interactive(m["interactive"])
        case "order":
            let o = m["order"]
            d.order = .init(
                catalogId: o?["catalog_id"]?.stringValue, text: o?["text"]?.stringValue,
                items: (o?["product_items"]?.arrayValue ?? []).map {
                    .init(
                        productRetailerId: $0["product_retailer_id"]?.stringValue,
                        quantity: $0["quantity"]?.doubleValue,
                        itemPrice: $0["item_price"]?.doubleValue, currency: $0["currency"]?.stringValue)
                })
        case "system":
            let s = m["system"]
            d.system = .init(
                type: s?["type"]?.stringValue, body: s?["body"]?.stringValue,
                newWaId: s?["wa_id"]?.stringValue ?? s?["new_wa_id"]?.stringValue)
        case "edit", "revoke":
            d.originalMessageId = m[type]?["original_message_id"]?.stringValue
        default:
            break
        }
        return d
    }

    static func media(_ v: JSONValue?, type: String) -> MessageDetails.Media {
        .init(
            id: v?["id"]?.stringValue, mimeType: v?["mime_type"]?.stringValue, sha256: v?["sha256"]?.stringValue,
            caption: v?["caption"]?.stringValue, filename: v?["filename"]?.stringValue,
            voice: v?["voice"]?.boolValue ?? false, animated: v?["animated"]?.boolValue ?? false)
    }

    static func interactive(_ i: JSONValue?) -> MessageDetails.Reply? {
        guard let i else { return nil }
        let kind = i["type"]?.stringValue ?? "unknown"
        let body = i[kind]
        return .init(
            kind: kind, id: body?["id"]?.stringValue, title: body?["title"]?.stringValue ?? body?["name"]?.stringValue,
            description: body?["description"]?.stringValue ?? body?["body"]?.stringValue, payload: nil,
            responseJSON: body?["response_json"]?.stringValue)
    }
}
