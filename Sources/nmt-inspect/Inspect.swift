import ArgumentParser
import Foundation
import NMT

/// Developer tool for reference checks (tools/parity.py): the engine's tokenization and
/// teacher-forced logits, so they can be compared with another implementation.
@main
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nmt-inspect",
        abstract: "Show what the engine computes: source ids, detokenized text, teacher-forced logits.",
        subcommands: [Tokenize.self, Detokenize.self, Logits.self])

    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Source ids of each stdin line, space-separated.")
        @Option(help: "Model file.") var model: String

        func run() throws {
            let tokenizer = try Translator(modelPath: model).tokenizer
            while let line = readLine(strippingNewline: true) {
                print(try tokenizer.encode(line).map(String.init).joined(separator: " "))
            }
        }
    }

    struct Detokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Target text of each stdin line of space-separated ids.")
        @Option(help: "Model file.") var model: String

        func run() throws {
            let tokenizer = try Translator(modelPath: model).tokenizer
            while let line = readLine(strippingNewline: true) {
                print(try tokenizer.decode(line.split(separator: " ").compactMap { Int32($0) }))
            }
        }
    }

    struct Logits: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Teacher-forced logits.",
            discussion: """
                Each stdin line holds source ids, a tab, and decoder input ids (starting with the decoder \
                start id). Writes float32 logits [steps, targetVocab] of every line, concatenated, to --output.
                """)
        @Option(help: "Model file.") var model: String
        @Option(help: "Output file for the raw float32 logits.") var output: String

        func run() throws {
            let translator = try Translator(modelPath: model)
            let m = translator.model
            var data = Data()
            while let line = readLine(strippingNewline: true) {
                let parts = line.split(separator: "\t").map { $0.split(separator: " ").compactMap { Int32($0) } }
                guard parts.count == 2 else { throw ValidationError("expected source ids, a tab, decoder ids") }
                let state = try m.startDecoding(try m.encode([parts[0]]), rowsPerSentence: 1, maxLength: parts[1].count)
                // Step by step, through the cache, as translation does.
                for token in parts[1] {
                    let logits = try m.decode(state, tokens: [token], steps: 1)
                    logits.allRows().withUnsafeBytes { data.append(contentsOf: $0) }
                }
            }
            try data.write(to: URL(fileURLWithPath: output))
        }
    }
}
