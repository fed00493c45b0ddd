import Hummingbird

/// Around every route: turns any error into LibreTranslate's `{"error": …}` JSON with its status
/// (so no request gets an empty 500 or Hummingbird's plain-text error), and records the request in
/// the metrics by route and status with its latency.
struct APIMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    /// Routes counted under their own name; others (a 404, say) are counted as "other", so that
    /// a client cannot create label values.
    let routes: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        metrics.requestStarted()
        let path = request.uri.path
        let route = routes.contains(path) ? path : "other"
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var apiError = APIError(error)
            // A known path with a method it does not take: 405, not the router's 404.
            if apiError.status == .notFound, routes.contains(path) {
                apiError = APIError(.methodNotAllowed, "Method \(request.method) is not allowed on \(path)")
                apiError.allow = ["/translate", "/detect"].contains(path) ? "POST" : "GET"
            }
            if apiError.status == .internalServerError {
                context.logger.error("\(request.method) \(path): \(error)")
            }
            response = apiError.response
        }
        metrics.request(route: route, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}
