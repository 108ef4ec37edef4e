import Hummingbird
import HTTPTypes

/// Headers every response carries, errors included. `nosniff` stops a browser from
/// reading a JSON or text answer that echoes user input (a label value, a query) as HTML.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Thrown errors (404 for unknown paths, 405) become responses here so they carry the header too.
            response = try error.response(from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}

