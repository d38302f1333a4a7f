/// A campaign's life, in one place: draft → tested → running ⇄ paused → done. Every change of
/// `campaigns.state` goes through `CampaignStore.transition`, a conditional UPDATE on the
/// states `from(_:)` allows, so two callers racing (launch vs. pause, two replicas finishing)
/// cannot both win.
public enum CampaignState: String, Sendable, CaseIterable, Codable {
    case draft, tested, running, paused, done

    /// What moves a campaign.
    public enum Event: String, Sendable, CaseIterable {
        /// A test send to every test recipient succeeded for the current template + mapping.
        case testPassed
        /// The template or its mapping changed since the test that passed.
        case testInvalidated
        /// `POST /launch`: start, or resume a paused campaign.
        case launch
        case pause
        /// Every recipient was published and the send path settled each of them.
        case finish
    }

    /// The states `event` may leave; empty = never.
    public static func from(_ event: Event) -> Set<CampaignState> {
        switch event {
        case .testPassed: [.draft]
        case .testInvalidated: [.tested]
        case .launch: [.draft, .tested, .paused]
        case .pause: [.running]
        case .finish: [.running]
        }
    }

    /// The state `event` leads to.
    public static func to(_ event: Event) -> CampaignState {
        switch event {
        case .testPassed: .tested
        case .testInvalidated: .draft
        case .launch: .running
        case .pause: .paused
        case .finish: .done
        }
    }

    /// The state after `event`, or nil when `event` is not allowed in this state.
    public func after(_ event: Event) -> CampaignState? {
        Self.from(event).contains(self) ? Self.to(event) : nil
    }

    /// Test sends are allowed before a launch and while paused (after a template change).
    public var allowsTestSend: Bool { self == .draft || self == .tested || self == .paused }
}
