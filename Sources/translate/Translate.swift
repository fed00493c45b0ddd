import ArgumentParser
import Foundation
import NMT

@main
struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text, one paragraph or sentence per line, with a Transformer model file.",
        discussion: """
            Reads lines from FILE, --input or standard input and writes exactly one line per input line \
            to standard output (or --output), in order. Empty lines give empty lines. Invalid UTF-8 is \
            replaced by U+FFFD and reported on standard error.

            Each line is split into sentences (ICU's rules), and a sentence too long for the model is \
            cut at clauses or between words, so no text is lost; the translations are joined on the \
            line's output line. --read-ahead lines are read at a time, their sentences sorted by length \
            and translated in batches; outputs do not depend on the batching.

            Lengths count generated target tokens including the end-of-sentence token, as \
            max_new_tokens and min_new_tokens do in Hugging Face generate.

            Examples:
              translate --model models/tiny.bin < examples/input.en > output.de
              translate -m models/tiny.bin input.en --output output.de --beam-size 1

            Shell completion: translate --generate-completion-script bash|zsh|fish
            """,
        version: "0.4.0")

    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Decoding") var decoding: DecodingArguments
    @OptionGroup(title: "Batching and splitting") var batching: BatchingOptions
    @OptionGroup(title: "Input and output") var io: IOOptions
    @OptionGroup(title: "Attention") var attention: AttentionOptions

    /// Usage errors exit with status 2, as argument parsers conventionally do.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data(("error: " + message(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    func validate() throws {
        if attention.attention, io.format != .json {
            throw ValidationError("--attention needs --output-format json")
        }
        if attention.alignment, io.format == .text, decoding.nBest > 1 {
            throw ValidationError("--alignment with --n-best > 1 needs --output-format json")
        }
    }

    func run() throws {
        Allocator.reuseFreedMemory()
        var options = decoding.options
        options.attention = attention.recorded
        // Plain text shows no scores: greedy search need not compute them.
        options.scores = io.format == .json || options.nBest > 1
        // Threads beyond the cores only wait for each other inside every product (measured: 3
        // threads on 2 cores took 1.15–1.4× as long as 2), so the command caps them.
        var threads = model.threads
        if threads > TransformerModel.availableCores {
            threads = TransformerModel.availableCores
            warn("--threads \(model.threads) is more than the \(threads) cores this process may use; using \(threads)")
        }
        let loadStart = Date()
        let translator: Translator
        do {
            translator = try Translator(modelPath: model.model, threads: threads, workers: model.workers,
                                        computeType: model.computeType)
        } catch {
            fail("\(error)")
        }
        let layers = translator.model.config.decoderLayers
        if let layer = attention.attentionLayer, !(0..<layers).contains(layer) {
            FileHandle.standardError.write(Data("error: --attention-layer \(layer): the model's decoder layers are 0...\(layers - 1)\n".utf8))
            Foundation.exit(2)
        }
        if let directory = attention.attentionMap {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                fail("cannot create '\(directory)': \(error.localizedDescription)")
            }
        }
        let output = io.openOutput()
        let input = io.openInput()
        let progress = Progress(enabled: io.verbose || isatty(STDERR_FILENO) != 0, totalBytes: io.inputSize)
        progress.note(String(format: "loaded %@ in %.2f s", model.model, Date().timeIntervalSince(loadStart)))

        var reader = LineReader(file: input)
        var consumed = 0  // input bytes up to the last line read, for the progress bar
        var lineNumber = 0
        var window: [String] = []
        func flush() {
            guard !window.isEmpty else { return }
            let started = Date()
            let results: [Translation]
            do {
                results = try translator.translate(window, options: options, split: batching.split,
                                                   batching: batching.batching)
            } catch {
                fail("\(error)")
            }
            var text = ""
            for (offset, result) in results.enumerated() {
                let number = lineNumber - window.count + offset + 1
                if result.sourceTruncated {
                    warn("line \(number): longer than the model's \(translator.model.config.maxPositions) positions; " +
                         "only its beginning was translated (--split none)")
                }
                if let directory = attention.attentionMap {
                    writeAttentionMap(result, source: window[offset], number: number, directory: directory)
                }
                switch io.format {
                case .json: text += jsonLine(result) + "\n"
                case .text where attention.alignment:
                    text += oneLine(result.text) + " ||| " + WordAlignment.text(alignment(result)) + "\n"
                case .text where options.nBest > 1:
                    // Marian's n-best format: line index ||| translation ||| score, one line per hypothesis.
                    for h in result.hypotheses { text += "\(number - 1) ||| \(oneLine(h.text)) ||| \(h.score)\n" }
                    if result.hypotheses.isEmpty { text += "\(number - 1) |||  ||| 0\n" }
                case .text: text += oneLine(result.text) + "\n"
                }
            }
            fputs(text, output)
            fflush(output)
            progress.add(lines: window.count, tokens: results.reduce(0) { $0 + ($1.hypotheses.first?.ids.count ?? 0) },
                         seconds: Date().timeIntervalSince(started), bytes: consumed)
            window.removeAll(keepingCapacity: true)
        }
        while let line = reader.next(whenInputStalls: flush) {
            lineNumber += 1
            consumed = reader.bytesConsumed
            if line.invalidUTF8 { warn("line \(lineNumber): invalid UTF-8 replaced by U+FFFD") }
            window.append(line.text)
            // Lines are translated when the window is full, or earlier when the input pauses for
            // 20 ms (a terminal, or a pipe fed line by line), so an interactive user gets each
            // translation as soon as its line is in.
            if window.count >= batching.readAhead { flush() }
        }
        flush()
        if let error = reader.readError {
            fail("cannot read the input after line \(lineNumber) (line \(lineNumber + 1) is incomplete or missing; " +
                 "nothing of it was translated): \(String(cString: strerror(error)))")
        }
        progress.finish()
        fclose(output)
    }

    private func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ")
    }

    private func alignment(_ t: Translation) -> [(source: Int, target: Int)] {
        WordAlignment.pairs(of: t, layer: attention.attentionLayer)
    }

    /// The target pieces of a hypothesis as its attention rows are: `</s>` last when generated.
    private func targetPieces(_ h: TranslationHypothesis) -> [String] {
        h.tokens + ((h.attention?.cross.rows ?? 0) > h.tokens.count ? ["</s>"] : [])
    }

    private func writeAttentionMap(_ t: Translation, source: String, number: Int, directory: String) {
        let sentences = t.segments.compactMap { segment -> AttentionMap.Sentence? in
            guard let best = segment.hypotheses.first, let weights = best.attention else { return nil }
            return AttentionMap.Sentence(sourcePieces: segment.sourcePieces, targetPieces: targetPieces(best),
                                         attention: weights)
        }
        let path = (directory as NSString).appendingPathComponent(String(format: "line-%06d.html", number))
        let html = AttentionMap(title: source, sentences: sentences).html()
        guard FileManager.default.createFile(atPath: path, contents: Data(html.utf8)) else { fail("cannot write '\(path)'") }
    }

    private func jsonLine(_ t: Translation) -> String {
        struct Attention: Encodable {
            var source_pieces: [String]
            var target_pieces: [String]
            var layer: Int
            /// [target][source], the layer's heads averaged; or per head [heads][target][source].
            var weights: [[Float]]?
            var heads: [[[Float]]]?
        }
        struct Hypothesis: Encodable {
            var translation: String
            var score: Float
            var tokens: [String]
            var ids: [Int32]
        }
        struct Segment: Encodable {
            var utf16_start: Int
            var utf16_end: Int
            var translation: String
        }
        struct Line: Encodable {
            var translation: String
            var score: Float
            var tokens: [String]
            var nbest: [Hypothesis]
            var segments: [Segment]
            var truncated: Bool
            var alignment: [[Int]]?
            var attention: [Attention]?
        }
        let best = t.hypotheses.first
        var line = Line(translation: t.text, score: t.score, tokens: best?.tokens ?? [],
                        nbest: t.hypotheses.map { Hypothesis(translation: $0.text, score: $0.score, tokens: $0.tokens, ids: $0.ids) },
                        segments: t.segments.map {
                            Segment(utf16_start: $0.utf16Range.lowerBound, utf16_end: $0.utf16Range.upperBound,
                                    translation: $0.hypotheses.first?.text ?? "")
                        },
                        truncated: t.sourceTruncated)
        if self.attention.alignment {
            line.alignment = alignment(t).map { [$0.source, $0.target] }
        }
        if self.attention.attention {
            line.attention = t.segments.compactMap { segment in
                guard let best = segment.hypotheses.first, let weights = best.attention else { return nil }
                let layer = self.attention.attentionLayer ?? weights.cross.layers - 1
                let all = self.attention.attentionHeads == .all
                return Attention(source_pieces: segment.sourcePieces, target_pieces: targetPieces(best), layer: layer,
                                 weights: all ? nil : weights.cross.headMean(layer: layer),
                                 heads: all ? (0..<weights.cross.heads).map { weights.cross.matrix(layer: layer, head: $0) } : nil)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and finite floats cannot fail.
        return String(decoding: (try? encoder.encode(line)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

struct ModelOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Path of the model file (.bin, docs/FORMAT.md).")
    var model: String

    @Option(help: "Threads for matrix products and attention (default and most: the cores this process may use).")
    var threads: Int = TransformerModel.availableCores

    @Option(help: "Batches translated at the same time, the threads shared among them (default: \(Translator.defaultWorkers), at most --threads). A batch alone, such as a single line, still gets every thread.")
    var workers: Int?

    @Option(help: "auto: compute with the file's own types; i8: int8 products (an f32 or f16 file is quantized when it loads); f32: 32-bit floats (an i8 file is dequantized).")
    var computeType: ComputeType = .auto

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }
}

struct DecodingArguments: ParsableArguments {
    @Option(help: "Beam size; 1 is greedy search.")
    var beamSize: Int = DecodingOptions().beamSize

    @Option(help: "Hypotheses per line (at most the beam size): in JSON as nbest, in text as Marian's 'line ||| translation ||| score' lines.")
    var nBest: Int = DecodingOptions().nBest

    @Option(help: "Beam scores are log-probability / length^penalty.")
    var lengthPenalty: Float = DecodingOptions().lengthPenalty

    @Option(help: "Most generated tokens per line, </s> included.")
    var maxLength: Int = DecodingOptions().maxLength

    @Option(help: "Also stop after ratio × source tokens (e.g. 2.0).")
    var maxLengthRatio: Double?

    @Option(help: "</s> is not generated before this many tokens.")
    var minLength: Int = DecodingOptions().minLength

    var options: DecodingOptions {
        DecodingOptions(beamSize: beamSize, nBest: nBest, lengthPenalty: lengthPenalty, maxLength: maxLength,
                        maxLengthRatio: maxLengthRatio, minLength: minLength)
    }

    func validate() throws {
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension SplitMode: ExpressibleByArgument {}
extension ComputeType: ExpressibleByArgument {}

struct BatchingOptions: ParsableArguments {
    @Option(help: "sentences: translate each sentence of a line (ICU rules) and cut sentences too long for the model; long: cut only lines too long for the model; none: each line is one sequence, truncated to the model's positions (as transformers does).")
    var split: SplitMode = .sentences

    @Option(help: "Lines read, sorted by length and translated before their outputs are written (fewer when the input pauses, as typed or piped line by line).")
    var readAhead: Int = 1000

    @Option(help: "Most sentences in a batch.")
    var batchSize: Int = Batching().maxSentences

    @Option(help: "Most source tokens in a batch (sentences × the longest), like CTranslate2's batch_type=tokens; off by default.")
    var batchTokens: Int?

    var batching: Batching { Batching(maxSentences: batchSize, maxTokens: batchTokens) }

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard readAhead >= 1 else { throw ValidationError("--read-ahead must be at least 1, got \(readAhead)") }
        if let tokens = batchTokens, tokens < 1 {
            throw ValidationError("--batch-tokens must be at least 1, got \(tokens)")
        }
    }
}

struct AttentionOptions: ParsableArguments {
    enum Heads: String, ExpressibleByArgument, CaseIterable {
        case mean, all
    }

    @Flag(help: "Append Marian's hard word alignment ('translation ||| 0-0 1-2 ...', source-target word indices) read off the cross-attention; in JSON, an alignment array of [source, target] pairs.")
    var alignment = false

    @Flag(help: "JSON only: add attention, the cross-attention of the best translation ([target pieces][source pieces], </s> included) with its pieces, per sentence.")
    var attention = false

    @Option(help: "Decoder layer whose cross-attention --attention and --alignment read (0 is the first; default: the last).")
    var attentionLayer: Int?

    @Option(help: "mean: the layer's heads averaged; all: every head ([heads][target][source]).")
    var attentionHeads: Heads = .mean

    @Option(help: "Write one self-contained HTML page per input line into this directory (line-000001.html, ...): cross-attention heatmap with a layer and head selector, encoder and decoder self-attention.")
    var attentionMap: String?

    /// Whether the searches must record attention.
    var recorded: Bool { alignment || attention || attentionMap != nil }
}

struct IOOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Input file (default: standard input).")
    var file: String?

    @Option(help: "Read lines from this file instead of standard input (same as FILE).")
    var input: String?

    var inputPath: String? { file ?? input }

    @Option(help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "Output format: text (one translation per line) or json (one object per line).")
    var outputFormat: Format = .text
    var format: Format { outputFormat }

    @Flag(help: "Report progress and throughput on standard error even when it is not a terminal.")
    var verbose = false

    func validate() throws {
        if file != nil, input != nil { throw ValidationError("give the input file once: as FILE or as --input") }
    }

    /// The input's size in bytes when it is a regular file (for the progress bar), else nil.
    var inputSize: Int? {
        var info = stat()
        let ok = inputPath.map { stat($0, &info) == 0 } ?? (fstat(STDIN_FILENO, &info) == 0)
        return ok && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
    }

    func openInput() -> UnsafeMutablePointer<FILE> {
        guard let path = inputPath else { return fdopen(STDIN_FILENO, "rb")! }
        guard let file = fopen(path, "rb") else { fail("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        return file
    }

    func openOutput() -> UnsafeMutablePointer<FILE> {
        guard let path = output else { return fdopen(STDOUT_FILENO, "wb")! }
        guard let file = fopen(path, "wb") else { fail("cannot write '\(path)': \(String(cString: strerror(errno)))") }
        return file
    }
}

/// Progress and throughput on standard error: a percentage and the time left when the input's
/// size is known (a file), the counts otherwise.
final class Progress {
    let enabled: Bool
    let totalBytes: Int?
    private var lines = 0, tokens = 0, bytes = 0
    private var seconds = 0.0

    init(enabled: Bool, totalBytes: Int?) {
        self.enabled = enabled
        self.totalBytes = totalBytes
    }

    func note(_ message: String) {
        if enabled { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    }

    func add(lines: Int, tokens: Int, seconds: Double, bytes: Int) {
        self.lines += lines
        self.tokens += tokens
        self.seconds += seconds
        self.bytes = bytes
        if enabled { FileHandle.standardError.write(Data(("\r" + summary + "\u{1B}[K").utf8)) }
    }

    func finish() {
        if enabled, lines > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private var summary: String {
        let rates = String(format: "%d lines, %.1f lines/s, %.0f target tokens/s", lines,
                           Double(lines) / max(seconds, 1e-9), Double(tokens) / max(seconds, 1e-9))
        guard let total = totalBytes, total > 0, bytes > 0 else { return rates }
        let done = min(1, Double(bytes) / Double(total))
        let left = seconds / done * (1 - done)
        let width = 20, filled = Int(done * Double(width))
        return String(format: "[%@%@] %3.0f%%, %@ left, ", String(repeating: "#", count: filled),
                      String(repeating: " ", count: width - filled), done * 100, Self.duration(left)) + rates
    }

    private static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}
