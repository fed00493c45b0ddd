import Foundation
import Hummingbird
import HummingbirdTesting
import NMT
import Testing
@testable import NMTServer

/// Bad input of every kind gets a 4xx with {"error": …}, and the server keeps serving.
@Suite struct ErrorTests {
    @Test func badRequestsGetJSONErrors() async throws {
        let limits = ServerLimits(charLimit: 100, batchLimit: 4, bodyLimit: 2048)
        try await Support.app(Support.configuration(limits: limits)).test(.router) { client in
            func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ fragment: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == status, sourceLocation: sourceLocation)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
                let message = Support.errorMessage(response)
                #expect(message?.contains(fragment) == true, "\(message ?? "no error field")", sourceLocation: sourceLocation)
            }
            let json: HTTPFields = [.contentType: "application/json"]
            expectError(try await client.execute(uri: "/translate", method: .post, headers: json,
                                                 body: ByteBuffer(string: "{\"q\": \"Hello\", ")), .badRequest, "not valid JSON")
            expectError(try await client.execute(uri: "/translate", method: .post, headers: json,
                                                 body: ByteBuffer(string: "[1, 2]")), .badRequest, "JSON object")
            expectError(try await client.postJSON("/translate", ["q": 5, "source": "en", "target": "de"]), .badRequest,
                        "q must be a string or an array of strings")
            expectError(try await client.postJSON("/translate", ["q": ["a", 1], "source": "en", "target": "de"]), .badRequest,
                        "array of strings")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": ["en"], "target": "de"]), .badRequest,
                        "source must be a string")
            expectError(try await client.postJSON("/translate", ["q": "", "source": "en", "target": "de"]), .badRequest,
                        "missing q")
            expectError(try await client.postJSON("/translate", ["source": "en", "target": "de"]), .badRequest, "missing q")
            expectError(try await client.postJSON("/translate", ["q": [String](), "source": "en", "target": "de"]),
                        .badRequest, "empty array")
            expectError(try await client.postJSON("/translate", ["q": "a", "target": "de"]), .badRequest, "missing source")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en"]), .badRequest, "missing target")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "xx", "target": "de"]), .badRequest,
                        "xx is not supported")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en", "target": "fr"]), .badRequest,
                        "fr is not supported")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en", "target": "de", "format": "pdf"]),
                        .badRequest, "format")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en", "target": "de", "alternatives": -1]),
                        .badRequest, "alternatives")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en", "target": "de", "alternatives": "x"]),
                        .badRequest, "alternatives must be an integer")
            // Over the limits: characters, array members, body bytes.
            expectError(try await client.postJSON("/translate", ["q": String(repeating: "a", count: 101), "source": "en",
                                                                 "target": "de"]), .badRequest, "exceeds character limit (100)")
            expectError(try await client.postJSON("/translate", ["q": ["a", "b", "c", "d", "e"], "source": "en", "target": "de"]),
                        .badRequest, "exceeds text limit (4)")
            expectError(try await client.postJSON("/translate", ["q": String(repeating: "a ", count: 1500), "source": "en",
                                                                 "target": "de"]), .contentTooLarge, "too large")
            // Invalid UTF-8, in JSON and in a form.
            expectError(try await client.execute(uri: "/translate", method: .post, headers: json,
                                                 body: ByteBuffer(bytes: Array("{\"q\": \"a".utf8) + [0xFF, 0xFE] +
                                                                  Array("\", \"source\": \"en\", \"target\": \"de\"}".utf8))),
                        .badRequest, "UTF-8")
            expectError(try await client.postForm("/translate", "q=%FF%FE&source=en&target=de"), .badRequest, "UTF-8")
            expectError(try await client.postForm("/translate", "q=%G1&source=en&target=de"), .badRequest, "percent")
            expectError(try await client.execute(uri: "/translate", method: .post, headers: [.contentType: "image/png"],
                                                 body: ByteBuffer(string: "x")), .unsupportedMediaType, "content type")
            expectError(try await client.postJSON("/detect", ["q": 3]), .badRequest, "q must be a string")
            expectError(try await client.execute(uri: "/nowhere", method: .get), .notFound, "Not found")
            let put = try await client.execute(uri: "/translate", method: .put, headers: json, body: ByteBuffer(string: "{}"))
            expectError(put, .methodNotAllowed, "not allowed")
            #expect(put.headers[.allow] == "POST")
            expectError(try await client.postJSON("/detect", ["q": ["", ""]]), .badRequest, "empty")
            expectError(try await client.postJSON("/translate", ["q": "a", "source": "en", "target": "de", "api_key": 7]),
                        .badRequest, "api_key must be a string")
            // Still serving.
            let ok = try await client.postJSON("/translate", ["q": "A dog.", "source": "en", "target": "de"])
            #expect(ok.status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test func apiKeysAreRequiredWhenConfigured() async throws {
        try await Support.app(Support.configuration(apiKeys: APIKeys(["secret"]))).test(.router) { client in
            let missing = try await client.postJSON("/translate", ["q": "A dog.", "source": "en", "target": "de"])
            #expect(missing.status == .forbidden)
            #expect(Support.errorMessage(missing)?.contains("API key") == true)
            let wrong = try await client.postForm("/translate", "q=A+dog.&source=en&target=de&api_key=guess")
            #expect(wrong.status == .forbidden)
            let detect = try await client.postJSON("/detect", ["q": "A dog."])
            #expect(detect.status == .forbidden)
            let right = try await client.postForm("/translate", "q=A+dog.&source=en&target=de&api_key=secret")
            #expect(right.status == .ok)
            #expect(try await client.execute(uri: "/languages", method: .get).status == .ok)
        }
    }

    @Test func apiKeysFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID()).txt").path
        try "# clients\nalpha\n\n  beta  \n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try APIKeys(contentsOf: path).keys == ["alpha", "beta"])
        #expect(throws: ServerSetupError.self) { try APIKeys(contentsOf: path + ".missing") }
    }

    /// A full queue refuses at once with 429 and Retry-After; queued work is still done.
    @Test func fullQueueAnswers429() async throws {
        let batcher = TranslationBatcher(models: [Support.tiny], decoding: Support.decoding, batching: ServerBatching(),
                                         queueLimit: 2)
        // Nothing runs the queue yet: the first request waits in it.
        let first = Task { try await batcher.translate(["A dog runs.", "A cat sleeps."], model: 0, nBest: 1) }
        while await batcher.queued < 2 { try await Task.sleep(for: .milliseconds(5)) }
        do {
            _ = try await batcher.translate(["A man walks."], model: 0, nBest: 1)
            Issue.record("a full queue took more")
        } catch {
            #expect(error.status == .tooManyRequests && error.retryAfter == 1)
            #expect(error.response.headers[.retryAfter] == "1")
        }
        await batcher.stop()
        try await batcher.run()  // drains the queue, then returns
        let translations = try await first.value
        #expect(translations.map(\.text) == (try Support.expected(["A dog runs.", "A cat sleeps."])).map(\.text))
    }

    /// Once `releaseMemoryAfter` passes without a request, the translators' kept buffers are freed,
    /// once per idle period; requests after it are translated as before.
    @Test func idleBatcherReleasesKeptMemory() async throws {
        let batcher = TranslationBatcher(models: [Support.tiny], decoding: Support.decoding,
                                         batching: ServerBatching(window: .zero, releaseMemoryAfter: .milliseconds(50)),
                                         queueLimit: 100)
        let running = Task { try await batcher.run() }
        let lines = ["A dog runs.", "A cat sleeps."]
        let expected = try Support.expected(lines).map(\.text)
        for round in 1...2 {
            #expect(try await batcher.translate(lines, model: 0, nBest: 1).map(\.text) == expected)
            for _ in 0..<500 where await batcher.memoryReleases < round { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await batcher.memoryReleases == round)
        }
        try await Task.sleep(for: .milliseconds(150))  // idle on: no second release without a batch
        #expect(await batcher.memoryReleases == 2)
        await batcher.stop()
        try await running.value
    }

    /// Requests that ask for attention batch apart from those that do not, which then carry no
    /// attention (nor pay for recording it); each still gets its own translations.
    @Test func attentionRequestsBatchApart() async throws {
        let metrics = ServerMetrics()
        let batcher = TranslationBatcher(models: [Support.tiny], decoding: Support.decoding,
                                         batching: ServerBatching(window: .zero), queueLimit: 100, metrics: metrics)
        let lines = ["A dog runs.", "A cat sleeps.", "A man walks.", "Two women talk."]
        // Queued before the batcher runs, alternating: plain, attention, plain, attention.
        var tasks: [Task<[Translation], any Error>] = []
        for (i, line) in lines.enumerated() {
            tasks.append(Task { try await batcher.translate([line], model: 0, nBest: 1, attention: i % 2 == 1) })
            while await batcher.queued < i + 1 { try await Task.sleep(for: .milliseconds(5)) }
        }
        await batcher.stop()
        try await batcher.run()
        var results: [Translation] = []
        for task in tasks { results += try await task.value }
        #expect(results.map(\.text) == (try Support.expected(lines)).map(\.text))
        #expect(results.map { $0.hypotheses.first?.attention != nil } == [false, true, false, true])
        #expect(metrics.text().contains("nmt_batches_total 2"))
    }

    /// A client that does not finish sending its body in time gets 408.
    @Test func slowBodiesTimeOut() async throws {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        continuation.yield(ByteBuffer(string: "{\"q\": "))  // and nothing more
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/translate"),
                              body: RequestBody(asyncSequence: stream))
        do {
            _ = try await RequestBodyReader.read(request, limits: ServerLimits(readTimeout: 0.2))
            Issue.record("read a body that never ended")
        } catch {
            #expect(error.status == .requestTimeout)
        }
        continuation.finish()
    }

    @Test func modelsWithoutLanguagesNeedAnOverride() throws {
        let fixture = Support.path("Tests/NMTTests/Fixtures/format-v1.bin")
        #expect {
            try ServedModel.load(path: fixture)
        } throws: { error in
            guard case .missingLanguages = error as? ServerSetupError else { return false }
            return "\(error)".contains("--languages")
        }
        let model = try ServedModel.load(path: fixture, languages: ("en", "de"))
        #expect(model.source == "en" && model.target == "de")
        #expect(throws: ServerSetupError.self) { try ServedModel.load(path: fixture, languages: ("english", "d e")) }
        #expect(throws: ServerSetupError.self) {
            try TranslationService(models: [Support.tiny, Support.tiny], batcher: TranslationBatcher(
                models: [], decoding: Support.decoding, batching: ServerBatching(), queueLimit: 1),
                                   limits: ServerLimits(), apiKeys: nil, beamSize: 2)
        }
    }
}
