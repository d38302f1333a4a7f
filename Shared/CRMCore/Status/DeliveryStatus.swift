/// The delivery state machine of a message, in one place.
///
/// Statuses arrive duplicated and out of order. The current status only moves to a higher
/// rank: accepted < sent < failed < delivered < read. `failed` outranks sent (the send did
/// fail) but a later `delivered`/`read` outranks `failed`, because with multi-device a
/// message can fail on one device and still be delivered. `read` implies delivered.
/// The database applies the same ranks through `crm_status_rank()`, generated from this type.
public enum DeliveryStatus: String, CaseIterable, Sendable, Codable {
    case accepted
    case sent
    case failed
    case delivered
    case read

    public var rank: Int {
        switch self {
        case .accepted: 0
        case .sent: 1
        case .failed: 2
        case .delivered: 3
        case .read: 4
        }
    }

    /// Whether a message currently in `self` moves to `next`.
    public func advances(to next: DeliveryStatus) -> Bool { next.rank > rank }

    /// Meta also reports statuses we keep in history without changing delivery state
    /// (e.g. `played` for voice messages, `deleted`). Those map to nil.
    public init?(meta value: String) {
        self.init(rawValue: value)
    }
}
