import Foundation
import Hummingbird
import HummingbirdTesting
import NMT
@testable import NMTServer

/// models/tiny.bin (en → de), loaded once for all tests, and the repository's paths.
enum Support {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static let tiny: ServedModel = {
        // A test that cannot load the model fails on its first use with the error printed.
        do { return try ServedModel.load(path: path("models/tiny.bin"), threads: 2, workers: 2) } catch { fatalError("\(error)") }
    }()

    /// Beam 2 keeps the debug-build tests fast and still gives one alternative.
    static let decoding = DecodingOptions(beamSize: 2)

    static func configuration(limits: ServerLimits = ServerLimits(), apiKeys: APIKeys? = nil,
                              batching: ServerBatching = ServerBatching()) -> ServerConfiguration {
        ServerConfiguration(port: 0, decoding: decoding, batching: batching, limits: limits, apiKeys: apiKeys)
    }

    static func app(_ configuration: ServerConfiguration = configuration(), metrics: ServerMetrics = ServerMetrics())
        throws -> some ApplicationProtocol {
        try TranslationServer.application(models: [tiny], configuration: configuration, metrics: metrics)
    }

    /// What the library (and so the translate command) gives for these lines with the server's options.
    static func expected(_ lines: [String], nBest: Int = 1) throws -> [Translation] {
        var options = decoding
        options.nBest = nBest
        return try tiny.translator.translate(lines, options: options)
    }

    static func json(_ object: Any) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static func object(_ response: TestResponse) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
    }

    static func errorMessage(_ response: TestResponse) -> String? {
        object(response)?["error"] as? String
    }
}

extension TestClientProtocol {
    func postJSON(_ uri: String, _ object: Any) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: Support.json(object))
    }

    func postForm(_ uri: String, _ form: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                          body: ByteBuffer(string: form))
    }
}
