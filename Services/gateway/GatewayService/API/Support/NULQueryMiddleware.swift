import Hummingbird

/// 400 for a NUL character (`%00`) anywhere in an API request's path or query: PostgreSQL
/// stores no NUL in text, so a filter or path parameter carrying one was a 500 (found by
/// schemathesis in `GET /messages?template=`). Bodies are checked by `JSONBody`.
struct NULQueryMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if request.uri.path.lowercased().contains("%00") {
            throw APIError.validation([FieldProblem("path", "must not contain a NUL character")])
        }
        var problems: [FieldProblem] = []
        for (name, value) in request.uri.queryParameters where name.contains("\0") || value.contains("\0") {
            problems.append(FieldProblem(String(name), "must not contain a NUL character"))
        }
        if !problems.isEmpty { throw APIError.validation(problems) }
        return try await next(request, context)
    }
}
