import ArgumentParser
import Foundation
import NMT

@main
struct Translate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text, one sentence per line, with a Transformer model file.",
        discussion: """
            Reads lines from standard input (or --input) and writes exactly one line per input line to \
            standard output (or --output), in order. Empty lines give empty lines. Invalid UTF-8 is \
            replaced by U+FFFD and reported on standard error. Input is read and translated in batches.

            Lengths count generated target tokens including the end-of-sentence token, as \
            max_new_tokens and min_new_tokens do in Hugging Face generate.

            Example:
              translate --model models/tiny.bin < examples/input.en > output.de
            """)

    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Decoding") var decoding: DecodingArguments
    @OptionGroup(title: "Input and output") var io: IOOptions

    /// Usage errors exit with status 2, as argument parsers conventionally do.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    func run() throws {
        let options = decoding.options
        let loadStart = Date()
        let translator: Translator
        do {
            translator = try Translator(modelPath: model.model, threads: model.threads)
        } catch {
            fail("\(error)")
        }
        let output = io.openOutput()
        let input = io.openInput()
        let progress = Progress(enabled: io.verbose || isatty(STDERR_FILENO) != 0)
        progress.note(String(format: "loaded %@ in %.2f s", model.model, Date().timeIntervalSince(loadStart)))

        var reader = LineReader(file: input)
        var lineNumber = 0
        var batch: [String] = []
        func flush() {
            guard !batch.isEmpty else { return }
            let started = Date()
            let results: [Translation]
            do {
                results = try translator.translate(batch, options: options)
            } catch {
                fail("\(error)")
            }
            var text = ""
            for (offset, result) in results.enumerated() {
                if result.sourceTruncated {
                    warn("line \(lineNumber - batch.count + offset + 1): longer than the model's " +
                         "\(translator.model.config.maxPositions) positions; only its beginning was translated")
                }
                text += io.format == .json ? jsonLine(result) : result.text.replacingOccurrences(of: "\n", with: " ")
                text += "\n"
            }
            fputs(text, output)
            fflush(output)
            progress.add(lines: batch.count, tokens: results.reduce(0) { $0 + ($1.hypotheses.first?.ids.count ?? 0) },
                         seconds: Date().timeIntervalSince(started))
            batch.removeAll(keepingCapacity: true)
        }
        while let line = reader.next() {
            lineNumber += 1
            if line.invalidUTF8 { warn("line \(lineNumber): invalid UTF-8 replaced by U+FFFD") }
            batch.append(line.text)
            if batch.count == io.batchSize { flush() }
        }
        flush()
        progress.finish()
        fclose(output)
    }

    private func jsonLine(_ t: Translation) -> String {
        struct Hypothesis: Encodable {
            var translation: String
            var score: Float
            var tokens: [String]
            var ids: [Int32]
        }
        struct Line: Encodable {
            var translation: String
            var score: Float
            var tokens: [String]
            var nbest: [Hypothesis]
            var truncated: Bool
        }
        let best = t.hypotheses.first
        let line = Line(translation: t.text, score: t.score, tokens: best?.tokens ?? [],
                        nbest: t.hypotheses.map { Hypothesis(translation: $0.text, score: $0.score, tokens: $0.tokens, ids: $0.ids) },
                        truncated: t.sourceTruncated)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and finite floats cannot fail.
        return String(decoding: (try? encoder.encode(line)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

struct ModelOptions: ParsableArguments {
    @Option(help: "Path of the model file (.bin, docs/FORMAT.md).")
    var model: String

    @Option(help: "Threads for matrix products.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}

struct DecodingArguments: ParsableArguments {
    @Option(help: "Beam size; 1 is greedy search.")
    var beamSize: Int = DecodingOptions().beamSize

    @Option(help: "Hypotheses per line in JSON output (at most the beam size).")
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

struct IOOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Read lines from this file instead of standard input.")
    var input: String?

    @Option(help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "Output format: text (one translation per line) or json (one object per line).")
    var outputFormat: Format = .text
    var format: Format { outputFormat }

    @Option(help: "Lines translated together.")
    var batchSize: Int = 32

    @Flag(help: "Report progress and throughput on standard error even when it is not a terminal.")
    var verbose = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func openInput() -> UnsafeMutablePointer<FILE> {
        guard let path = input else { return fdopen(STDIN_FILENO, "rb")! }
        guard let file = fopen(path, "rb") else { fail("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        return file
    }

    func openOutput() -> UnsafeMutablePointer<FILE> {
        guard let path = output else { return fdopen(STDOUT_FILENO, "wb")! }
        guard let file = fopen(path, "wb") else { fail("cannot write '\(path)': \(String(cString: strerror(errno)))") }
        return file
    }
}

/// Progress and throughput on standard error.
final class Progress {
    let enabled: Bool
    private var lines = 0, tokens = 0
    private var seconds = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    func note(_ message: String) {
        if enabled { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    }

    func add(lines: Int, tokens: Int, seconds: Double) {
        self.lines += lines
        self.tokens += tokens
        self.seconds += seconds
        if enabled { FileHandle.standardError.write(Data(("\r" + summary).utf8)) }
    }

    func finish() {
        if enabled, lines > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private var summary: String {
        String(format: "%d lines, %.1f lines/s, %.0f target tokens/s", lines, Double(lines) / max(seconds, 1e-9),
               Double(tokens) / max(seconds, 1e-9))
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}
