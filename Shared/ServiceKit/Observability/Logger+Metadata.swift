import Logging

extension Logger {
    /// A copy carrying extra metadata (e.g. the `event_id` of the record being handled).
    public func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (k, v) in metadata { copy[metadataKey: k] = v }
        return copy
    }
}
