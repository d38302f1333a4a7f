/// What a customer message means beyond its text, typed per WhatsApp message type, so the
/// CRM can act on replies, button taps, ad clicks, orders and number changes without
/// re-parsing Meta's JSON. The untouched original stays in `InboundMessage.content`.
public struct MessageDetails: Codable, Sendable, Equatable {
    /// Types this version understands; anything else is kept, counted and flagged `known == false`.
    public static let knownTypes: Set<String> = [
        "text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive", "button",
        "reaction", "order", "system", "unsupported", "request_welcome", "edit", "revoke",
    ]

    public var known: Bool
    public var context: ReplyContext?
    public var referral: AdReferral?
    public var media: Media?
    public var location: Location?
    public var reaction: Reaction?
    public var reply: Reply?
    public var order: Order?
    public var system: SystemChange?
    /// The message an `edit` or `revoke` refers to.
    public var originalMessageId: String?
    /// Shared contact cards (`contacts` type), kept as sent.
    public var sharedContacts: JSONValue?
    public var errors: [WhatsAppError]

    public init(known: Bool) {
        self.known = known
        errors = []
    }

    enum CodingKeys: String, CodingKey {
        case known, context, referral, media, location, reaction, reply, order, system
        case originalMessageId = "original_message_id"
        case sharedContacts = "shared_contacts"
        case errors
    }

    /// `context`: what the message replies to (a wamid of ours: campaign attribution), or forwarding.
    public struct ReplyContext: Codable, Sendable, Equatable {
        public var id: String?
        public var from: String?
        public var forwarded: Bool
        public var frequentlyForwarded: Bool
        public var referredProductId: String?

        public init(id: String?, from: String?, forwarded: Bool, frequentlyForwarded: Bool, referredProductId: String?)
        {
            self.id = id
            self.from = from
            self.forwarded = forwarded
            self.frequentlyForwarded = frequentlyForwarded
            self.referredProductId = referredProductId
        }

        enum CodingKeys: String, CodingKey {
            case id, from, forwarded
            case frequentlyForwarded = "frequently_forwarded"
            case referredProductId = "referred_product_id"
        }
    }

    /// Click-to-WhatsApp ad or post the conversation started from.
    public struct AdReferral: Codable, Sendable, Equatable {
        public var sourceURL: String?
        public var sourceId: String?
        public var sourceType: String?
        public var headline: String?
        public var body: String?
        public var mediaType: String?
        public var ctwaClid: String?

        public init(
            sourceURL: String?, sourceId: String?, sourceType: String?, headline: String?, body: String?,
            mediaType: String?, ctwaClid: String?
        ) {
            self.sourceURL = sourceURL
            self.sourceId = sourceId
            self.sourceType = sourceType
            self.headline = headline
            self.body = body
            self.mediaType = mediaType
            self.ctwaClid = ctwaClid
        }

        enum CodingKeys: String, CodingKey {
            case sourceURL = "source_url"
            case sourceId = "source_id"
            case sourceType = "source_type"
            case headline, body
            case mediaType = "media_type"
            case ctwaClid = "ctwa_clid"
        }
    }

    /// Image, video, audio (voice), document or sticker; bytes are fetched later by media id.
    public struct Media: Codable, Sendable, Equatable {
        public var id: String?
        public var mimeType: String?
        public var sha256: String?
        public var caption: String?
        public var filename: String?
        public var voice: Bool
        public var animated: Bool

        public init(
            id: String?, mimeType: String?, sha256: String?, caption: String?, filename: String?, voice: Bool,
            animated: Bool
        ) {
            self.id = id
            self.mimeType = mimeType
            self.sha256 = sha256
            self.caption = caption
            self.filename = filename
            self.voice = voice
            self.animated = animated
        }

        enum CodingKeys: String, CodingKey {
            case id
            case mimeType = "mime_type"
            case sha256, caption, filename, voice, animated
        }
    }

    public struct Location: Codable, Sendable, Equatable {
        public var latitude: Double?
        public var longitude: Double?
        public var name: String?
        public var address: String?
        public var url: String?

        public init(latitude: Double?, longitude: Double?, name: String?, address: String?, url: String?) {
            self.latitude = latitude
            self.longitude = longitude
            self.name = name
            self.address = address
            self.url = url
        }
    }

    /// A reaction to one of the conversation's messages; an empty emoji removes it.
    public struct Reaction: Codable, Sendable, Equatable {
        public var messageId: String?
        public var emoji: String?
        public var removed: Bool

        public init(messageId: String?, emoji: String?, removed: Bool) {
            self.messageId = messageId
            self.emoji = emoji
            self.removed = removed
        }

        enum CodingKeys: String, CodingKey {
            case messageId = "message_id"
            case emoji, removed
        }
    }

    /// A tap or answer: interactive button/list reply, Flow response, or template quick reply.
    public struct Reply: Codable, Sendable, Equatable {
        /// `button_reply`, `list_reply`, `nfm_reply` (Flows), `quick_reply` (template button), or another
        /// interactive type Meta adds.
        public var kind: String
        public var id: String?
        public var title: String?
        public var description: String?
        /// Template quick-reply payload (routing rules match on it).
        public var payload: String?
        /// Flow answer as Meta sent it (a JSON string).
        public var responseJSON: String?

        public init(
            kind: String, id: String?, title: String?, description: String?, payload: String?, responseJSON: String?
        ) {
            self.kind = kind
            self.id = id
            self.title = title
            self.description = description
            self.payload = payload
            self.responseJSON = responseJSON
        }

        enum CodingKeys: String, CodingKey {
            case kind, id, title, description, payload
            case responseJSON = "response_json"
        }
    }

    public struct Order: Codable, Sendable, Equatable {
        public struct Item: Codable, Sendable, Equatable {
            public var productRetailerId: String?
            public var quantity: Double?
            public var itemPrice: Double?
            public var currency: String?

            public init(productRetailerId: String?, quantity: Double?, itemPrice: Double?, currency: String?) {
                self.productRetailerId = productRetailerId
                self.quantity = quantity
                self.itemPrice = itemPrice
                self.currency = currency
            }

            enum CodingKeys: String, CodingKey {
                case productRetailerId = "product_retailer_id"
                case quantity
                case itemPrice = "item_price"
                case currency
            }
        }

        public var catalogId: String?
        public var text: String?
        public var items: [Item]

        public init(catalogId: String?, text: String?, items: [Item]) {
            self.catalogId = catalogId
            self.text = text
            self.items = items
        }

        enum CodingKeys: String, CodingKey {
            case catalogId = "catalog_id"
            case text, items
        }
    }

    /// `system` messages: `user_changed_number` (moves the contact), `customer_identity_changed`, …
    public struct SystemChange: Codable, Sendable, Equatable {
        public var type: String?
        public var body: String?
        /// The customer's new wa_id after a number change.
        public var newWaId: String?

        public init(type: String?, body: String?, newWaId: String?) {
            self.type = type
            self.body = body
            self.newWaId = newWaId
        }

        enum CodingKeys: String, CodingKey {
            case type, body
            case newWaId = "new_wa_id"
        }
    }
}
