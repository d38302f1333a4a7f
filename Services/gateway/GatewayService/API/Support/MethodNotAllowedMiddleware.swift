import Hummingbird

/// A method the API document does not list on a path it does list is a 405 with `Allow` (the
/// methods it does list), not the router's 404: a client that used the wrong verb learns that
/// the path exists. The router is the only one to throw `HTTPError(.notFound)` with a method
/// that the path does not take, so a handler's own 404 passes through unchanged.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Per documented path: its segments (`nil` for a `{parameter}`) and methods.
    let paths: [(segments: [Substring?], allow: [String])]

    init(operations: [APIOperation]) {
        var methods: [String: Set<String>] = [:]
        for op in operations { methods[op.path, default: []].insert(op.method.uppercased()) }
        paths = methods.map { path, methods in
            (
                path.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 },
                methods.sorted()
            )
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allow = allowed(request.uri.path), !allow.contains(request.method.rawValue) else { throw error }
            throw APIError(
                .methodNotAllowed, "method_not_allowed",
                "\(request.method.rawValue) is not allowed here; allowed: \(allow.joined(separator: ", "))",
                allow: allow)
        }
    }

    /// The documented methods of the path `path` matches, if any.
    func allowed(_ path: String) -> [String]? {
        let parts = path.split(separator: "/")
        return paths.first { entry in
            entry.segments.count == parts.count
                && zip(entry.segments, parts).allSatisfy { segment, part in segment.map { $0 == part } ?? true }
        }?.allow
    }
}
