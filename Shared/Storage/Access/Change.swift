/// One field of a partial update (PATCH): left as it is, or set (to a value or to null).
/// Stores turn it into `col = CASE WHEN <isSet> THEN <newValue> ELSE col END`.
public enum Change<Value: Sendable>: Sendable {
    case keep
    case set(Value?)

    public var isSet: Bool {
        if case .set = self { return true }
        return false
    }

    public var newValue: Value? {
        if case .set(let v) = self { return v }
        return nil
    }
}

/// Keyset paging: rows strictly after `after` in the list's order, at most `limit`.
public struct PageRequest<Key: Sendable>: Sendable {
    public var after: Key?
    public var limit: Int

    public init(after: Key?, limit: Int) {
        self.after = after
        self.limit = limit
    }
}
