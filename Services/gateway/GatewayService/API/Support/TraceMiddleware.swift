import Hummingbird
import ServiceKit

/// A span per API request, continuing the caller's `traceparent` (or starting a trace): the
/// request's log lines carry its `trace_id`, and what it starts (a send, CRM activity) carries
/// it on. Recorded and exported only when a tracer is configured (`Traces`).
struct TraceMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let span = RecordSpan(
            "\(request.method) \(context.endpointPath ?? request.uri.path)", request: request.headers)
        do {
            let response = try await span.run { try await next(request, context) }
            span.setAttribute("http.response.status_code", Int(response.status.code))
            span.end()
            return response
        } catch {
            span.end(error: error)
            throw error
        }
    }
}
