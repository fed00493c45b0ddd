import ArgumentParser
import Foundation
import Logging
import NMT
import NMTServer

@main
struct TranslateServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate-server",
        abstract: "Serve translation models over HTTP with LibreTranslate's API, batching concurrent requests.",
        discussion: """
            Endpoints: POST /translate, GET /languages, POST /detect (LibreTranslate's API, so its clients \
            work unchanged), GET /health, GET /metrics (Prometheus), GET /spec (OpenAPI), and a web page at /.

            Each model serves the language pair its file records (source_language, target_language); \
            several --model options serve several pairs, routed by the request's source and target. \
            Lines of requests that arrive together are translated in one batch; each line's translation \
            is the same as the translate command's with the same decoding options.

            SIGTERM or SIGINT: stop accepting connections, answer every request already received, exit 0.

            Examples:
              translate-server --model models/tiny.bin
              translate-server --model en-de.bin --model de-en.bin --host 0.0.0.0 --port 5000 --api-keys keys.txt
              translate-server --model old.bin --languages en:de

            Documentation: docs/SERVER.md.
            """,
        version: "0.4.0")

    @OptionGroup(title: "Models") var models: ModelArguments
    @OptionGroup(title: "Server") var server: ServerArguments
    @OptionGroup(title: "Decoding") var decoding: DecodingArguments
    @OptionGroup(title: "Batching") var batching: BatchingArguments
    @OptionGroup(title: "Limits") var limits: LimitArguments

    func run() async throws {
        Allocator.reuseFreedMemory()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = server.logLevel
            return handler
        }
        var logger = Logger(label: "translate-server")
        logger.logLevel = server.logLevel
        let threads = min(models.threads, TransformerModel.availableCores)
        do {
            var served: [ServedModel] = []
            for (i, path) in models.model.enumerated() {
                let languages = models.languages.isEmpty ? nil : try ModelArguments.pair(models.languages[i])
                served.append(try ServedModel.load(path: path, languages: languages, threads: threads,
                                                   workers: models.workers, computeType: models.computeType))
                logger.info("loaded \(path): \(served.last!.source) → \(served.last!.target)")
            }
            let keys = try server.apiKeys.map { path throws(ServerSetupError) in try APIKeys(contentsOf: path) }
            let configuration = ServerConfiguration(
                host: server.host, port: server.port, decoding: decoding.options, batching: batching.batching,
                limits: limits.limits, apiKeys: keys, idleTimeout: server.idleTimeout,
                maxConnections: server.maxConnections == 0 ? nil : server.maxConnections)
            let metrics = ServerMetrics()
            let app = try TranslationServer.application(models: served, configuration: configuration, metrics: metrics,
                                                        logger: logger)
            logger.info("serving on http://\(server.host):\(server.port) (batching \(batching.noBatching ? "off" : "on"), \(threads) threads, \(served[0].translator.workers) workers)")
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            let counts = metrics.requestCounts
            logger.info("stopped: \(counts.received) requests received, \(counts.answered) answered")
        } catch let error as ServerSetupError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct ModelArguments: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp(
        "A model file (docs/FORMAT.md) to serve; repeat for more language pairs.", valueName: "FILE"))
    var model: [String] = []

    @Option(help: ArgumentHelp(
        "The language pair of the model at the same position, as SOURCE:TARGET ISO 639 codes (en:de), for a file that does not record it; '-' keeps the file's. Give it for every --model or for none.",
        valueName: "SOURCE:TARGET"))
    var languages: [String] = []

    @Option(help: "Threads for each translation (default and most: the cores this process may use).")
    var threads: Int = TransformerModel.availableCores

    @Option(help: "Parts of a batch translated at the same time, the threads shared among them (default: \(Translator.defaultWorkers), at most --threads). A batch of one line still gets every thread.")
    var workers: Int?

    @Option(help: "auto: compute with the file's own types; i8: int8 products (an f32 or f16 file is quantized when it loads); f32: 32-bit floats (an i8 file is dequantized).")
    var computeType: ComputeType = .auto

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("give at least one --model FILE") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
        guard languages.isEmpty || languages.count == model.count else {
            throw ValidationError("give --languages once per --model (\(model.count)), or not at all; '-' keeps a file's own")
        }
        for value in languages where value != "-" {
            do { _ = try Self.pair(value) } catch { throw ValidationError("\(error)") }
        }
    }

    /// "en:de" → ("en", "de"); "-" → nil.
    static func pair(_ value: String) throws(ServerSetupError) -> (source: String, target: String)? {
        guard value != "-" else { return nil }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy(ModelConfig.isLanguageCode) else {
            throw .invalidLanguages("--languages expects SOURCE:TARGET ISO 639 codes such as en:de, got '\(value)'")
        }
        return (parts[0], parts[1])
    }
}

extension ComputeType: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct ServerArguments: ParsableArguments {
    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 5000

    @Option(help: ArgumentHelp(
        "Require an api_key from this file (one key per line; blank lines and # comments ignored): requests without a valid one get 403.",
        valueName: "FILE"))
    var apiKeys: String?

    @Option(help: "Seconds an idle keep-alive connection stays open.")
    var idleTimeout: Double = 60

    @Option(help: "Most open connections (0: no limit); more wait in the listen backlog.")
    var maxConnections = 1024

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        guard maxConnections >= 0 else { throw ValidationError("--max-connections must not be negative") }
    }
}

struct DecodingArguments: ParsableArguments {
    @Option(help: "Beam size; 1 is greedy search. A request's alternatives are at most beam size - 1.")
    var beamSize: Int = DecodingOptions().beamSize

    @Option(help: "Beam scores are log-probability / length^penalty.")
    var lengthPenalty: Float = DecodingOptions().lengthPenalty

    @Option(help: "Most generated tokens per sentence, </s> included.")
    var maxLength: Int = DecodingOptions().maxLength

    @Option(help: "Also stop after ratio × source tokens (e.g. 2.0).")
    var maxLengthRatio: Double?

    @Option(help: "</s> is not generated before this many tokens.")
    var minLength: Int = DecodingOptions().minLength

    var options: DecodingOptions {
        DecodingOptions(beamSize: beamSize, nBest: 1, lengthPenalty: lengthPenalty, maxLength: maxLength,
                        maxLengthRatio: maxLengthRatio, minLength: minLength)
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError(error.description) }
    }
}

struct BatchingArguments: ParsableArguments {
    @Option(name: .customLong("batch-window-ms"), help: "Milliseconds the first waiting line waits for lines of other requests before its batch starts, counted from its arrival or the end of the batch it waited for (0: start at once; lines still gather while a batch runs; no wait once the clients of the last batch are back).")
    var batchWindowMs: Double = 5

    @Option(help: "Most source tokens collected into one batch from waiting requests (a request is never split).")
    var batchTokens = 4096

    @Option(help: "Most sentences decoded together inside a batch (they are sorted by length first).")
    var batchSize = 64

    @Flag(help: "Translate every request alone, one after another (for comparison; as servers that do not batch).")
    var noBatching = false

    @Option(help: "Seconds without requests after which the memory kept for the next batch is freed and handed back to the system (0: never; a burst of long texts would otherwise keep its memory).")
    var releaseMemoryAfter: Double = 30

    var batching: ServerBatching {
        ServerBatching(enabled: !noBatching, window: .microseconds(Int64(batchWindowMs * 1000)), maxTokens: batchTokens,
                       maxSentences: batchSize,
                       releaseMemoryAfter: releaseMemoryAfter > 0 ? .milliseconds(Int64(releaseMemoryAfter * 1000)) : nil)
    }

    func validate() throws {
        guard batchWindowMs >= 0, batchWindowMs <= 10_000 else { throw ValidationError("--batch-window-ms must be 0...10000") }
        guard batchTokens >= 1 else { throw ValidationError("--batch-tokens must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard releaseMemoryAfter >= 0, releaseMemoryAfter <= 86_400 else {
            throw ValidationError("--release-memory-after must be 0...86400 seconds")
        }
    }
}

struct LimitArguments: ParsableArguments {
    @Option(help: "Most characters of q in one request, all array members together (-1: no limit); more gets 400.")
    var charLimit = 5000

    @Option(help: "Most members of an array q; more gets 400.")
    var batchLimit = 128

    @Option(help: "Most bytes of a request body; more gets 413.")
    var bodyLimit = 1 << 20

    @Option(help: "Most lines waiting to be translated, all requests together; a request that would exceed it gets 429 with Retry-After.")
    var queueLimit = 4096

    @Option(help: "Seconds a client may take to send its request body; slower gets 408.")
    var readTimeout: Double = 10

    var limits: ServerLimits {
        ServerLimits(charLimit: charLimit < 0 ? nil : charLimit, batchLimit: batchLimit, bodyLimit: bodyLimit,
                     queueLimit: queueLimit, readTimeout: readTimeout)
    }

    func validate() throws {
        guard charLimit >= -1, charLimit != 0 else { throw ValidationError("--char-limit must be positive, or -1 for none") }
        guard batchLimit >= 1 else { throw ValidationError("--batch-limit must be at least 1") }
        guard bodyLimit >= 1024 else { throw ValidationError("--body-limit must be at least 1024 bytes") }
        guard queueLimit >= batchLimit else {
            throw ValidationError("--queue-limit (\(queueLimit)) must be at least --batch-limit (\(batchLimit))")
        }
        guard readTimeout > 0 else { throw ValidationError("--read-timeout must be positive") }
    }
}
