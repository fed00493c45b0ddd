import Foundation
import HTTPTypes
import Hummingbird

/// An error answered to the client as LibreTranslate does: `{"error": "message"}` with a 4xx or 5xx
/// status. Everything the server refuses (bad input, a full queue, a missing key) is one of these;
/// the route handlers never let another error reach Hummingbird.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Seconds after which a client may retry (sent as `Retry-After` with 429 and 503).
    public var retryAfter: Int?
    /// The methods a path takes (sent as `Allow` with 405).
    public var allow: String?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(message)" }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The JSON response: `{"error": message}`.
    public var response: Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if let allow { headers[.allow] = allow }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONBody.encode(["error": message]))))
    }

    /// Any error as the API answers it: an `APIError` as itself, Hummingbird's `HTTPError` (no such
    /// route, a body over the limit) with its status, anything else as 500 without details.
    public init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as HTTPError:
            let message: String
            switch error.status {
            case .notFound: message = "Not found"
            case .methodNotAllowed: message = "Method not allowed"
            case .contentTooLarge: message = "Request body too large"
            default: message = error.body ?? error.status.reasonPhrase
            }
            self.init(error.status, message)
        default:
            self.init(.internalServerError, "Internal error: the translation failed")
        }
    }
}

/// JSON bodies: compact, keys sorted, no escaped slashes.
enum JSONBody {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and arrays of them always encode.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: encode(value))))
    }
}
