import Hummingbird

/// Reads a request body whole, within the body limit and the read timeout: a body larger than
/// the limit gets 413 (as soon as its `Content-Length` or its bytes say so), a client that has
/// not sent it all in time gets 408. Slow clients cannot hold a request open indefinitely.
enum RequestBodyReader {
    static func read(_ request: Request, limits: ServerLimits) async throws(APIError) -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.bodyLimit {
            throw tooLarge(limits)
        }
        let body = request.body
        let limit = limits.bodyLimit
        let timeout = limits.readTimeout
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    var bytes: [UInt8] = []
                    for try await var chunk in body {
                        guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge(limits) }
                        bytes += chunk.readBytes(length: chunk.readableBytes) ?? []
                    }
                    return bytes
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let bytes = first else {
                    throw APIError(.requestTimeout, "The request body did not arrive within \(timeout) seconds")
                }
                return bytes
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "Invalid request: the body could not be read")
        }
    }

    private static func tooLarge(_ limits: ServerLimits) -> APIError {
        APIError(.contentTooLarge, "Request body too large: the limit is \(limits.bodyLimit) bytes")
    }
}
