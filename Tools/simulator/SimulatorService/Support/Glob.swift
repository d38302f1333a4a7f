/// Recipient patterns: digits, `*` (any run of digits, also none) and `?` (one digit), matched
/// against the whole `wa_id`; a leading `+` is ignored. `*0001` = every number ending in 0001.
enum Glob {
    static func isValid(_ pattern: String) -> Bool {
        let body = pattern.hasPrefix("+") ? pattern.dropFirst() : pattern[...]
        return !body.isEmpty && body.allSatisfy { $0 == "*" || $0 == "?" || ($0.isASCII && $0.isNumber) }
    }

    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.hasPrefix("+") ? pattern.dropFirst() : pattern[...])
        let t = Array(text)
        var pi = 0
        var ti = 0
        var star: Int?
        var resume = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                resume = ti
                pi += 1
            } else if let s = star {
                pi = s + 1
                resume += 1
                ti = resume
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
