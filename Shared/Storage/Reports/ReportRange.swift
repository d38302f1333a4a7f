import Foundation

/// The half-open time range `[since, until)` every report covers.
public struct ReportRange: Sendable, Equatable {
    public var since: Date
    public var until: Date

    public init(since: Date, until: Date) {
        self.since = since
        self.until = until
    }
}
