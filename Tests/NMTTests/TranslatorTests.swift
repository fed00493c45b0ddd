import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

@Suite struct TranslatorTests {
    static let sentences = [
        "A man in an orange hat starring at something.",
        "Two dogs play in the snow.",
        "A girl in karate uniform breaking a stick with a front kick.",
        "People are walking down the street!",
        "Hi",
    ]

    /// Padding never leaks into attention: each sentence alone equals the same sentence in a batch.
    @Test(arguments: [1, 4])
    func aSentenceAloneEqualsTheSameSentenceInAPaddedBatch(beamSize: Int) throws {
        let translator = try Fixtures.translator("marian-shared")
        let options = DecodingOptions(beamSize: beamSize, nBest: beamSize, maxLength: 20)
        let sources = try Self.sentences.map { try translator.tokenizer.encode($0) }
        let together = try translator.generate(sources, options: options)
        for (i, source) in sources.enumerated() {
            let alone = try translator.generate([source], options: options)[0]
            #expect(alone.map(\.tokens) == together[i].map(\.tokens))
            #expect(maxAbsDifference(alone.map(\.score), together[i].map(\.score)) < 1e-5)
        }
    }

    /// Freed kept buffers are allocated again by the next call, which translates as before (with
    /// two workers: every replica's buffers, and the model's own).
    @Test func translationsAfterReleasingKeptBuffersAreTheSame() throws {
        let translator = try Translator(modelPath: Fixtures.url("marian-shared.bin").path, threads: 2, workers: 2)
        let options = DecodingOptions(beamSize: 4, maxLength: 20)
        let lines = Self.sentences + Self.sentences.map { $0 + " " + $0 }
        let before = try translator.translate(lines, options: options, batching: Batching(maxSentences: 3))
        translator.releaseKeptBuffers()
        Allocator.returnFreeMemory()
        let after = try translator.translate(lines, options: options, batching: Batching(maxSentences: 3))
        #expect(after.map(\.text) == before.map(\.text))
        #expect(after.map(\.score) == before.map(\.score))
    }

    /// The reported score is the model's log-probability of the sequence under the length penalty.
    @Test(arguments: [1, 4])
    func scoresAreModelLogProbabilities(beamSize: Int) throws {
        let translator = try Fixtures.translator("marian-separate")
        for lengthPenalty: Float in [0.6, 1.0] {
            let options = DecodingOptions(beamSize: beamSize, nBest: beamSize, lengthPenalty: lengthPenalty, maxLength: 16)
            for sentence in Self.sentences {
                let source = try translator.tokenizer.encode(sentence)
                for h in try translator.generate([source], options: options)[0] {
                    let logP = try translator.logProbability(source: source, target: h.tokens)
                    #expect(abs(h.logProbability - logP) < 1e-3)
                    #expect(abs(h.score - logP / pow(Float(h.tokens.count), lengthPenalty)) < 1e-3)
                }
            }
        }
    }

    @Test func emptyAndWhitespaceLinesGiveEmptyTranslations() throws {
        let translator = try Fixtures.translator("marian-shared")
        let results = try translator.translate(["", "  \t", "Two dogs play in the snow.", ""],
                                               options: DecodingOptions(beamSize: 2, maxLength: 8))
        #expect(results.map(\.text.isEmpty) == [true, true, false, true])
        #expect(results[2].hypotheses.count == 1)
    }

    @Test func longSourcesAreTruncatedAndReported() throws {
        let translator = try Fixtures.translator("marian-shared")
        let long = String(repeating: "a dog runs and ", count: 60)
        let results = try translator.translate([long, "Two dogs."], options: DecodingOptions(beamSize: 1, maxLength: 5),
                                               split: .none)
        #expect(results[0].sourceTruncated)
        #expect(!results[1].sourceTruncated)
        #expect(!results[0].text.isEmpty)
    }

    @Test func invalidOptionsAreRejected() throws {
        let translator = try Fixtures.translator("marian-shared")
        for options in [DecodingOptions(beamSize: 0), DecodingOptions(beamSize: 2, nBest: 3),
                        DecodingOptions(maxLength: 0), DecodingOptions(minLength: -1),
                        DecodingOptions(maxLengthRatio: -1)] {
            #expect(throws: TranslatorError.self) { try translator.translate(["Hi"], options: options) }
        }
    }

    @Test func tokenizerRoundTrip() throws {
        let translator = try Fixtures.translator("marian-shared")
        let tokenizer = translator.tokenizer
        for text in ["a man in a red shirt is walking", "Two dogs play in the snow."] {
            let ids = try tokenizer.encode(text)
            #expect(ids.last == tokenizer.eosID)
            #expect(!ids.dropLast().contains(tokenizer.sourceVocabulary.unkID))
            // Shared vocabulary: source ids decode with the target side.
            #expect(try tokenizer.decode(Array(ids.dropLast())) == text)
        }
        // A SentencePiece model loads from a file as from bytes.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID()).model")
        try Data(try ModelFile(path: Fixtures.url("marian-shared.bin").path).sourceSentencePiece).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(try SentencePiece(path: path.path).encode("Two dogs") == tokenizer.source.encode("Two dogs"))
        #expect(throws: TokenizerError.self) { try SentencePiece(path: "/nonexistent.model") }
        // Language tokens stay whole, and unknown pieces map to <unk>.
        #expect(try tokenizer.sourcePieces(">>deu<< Hi").first == ">>deu<<")
        #expect(try tokenizer.encode(">>deu<< Hi").first == tokenizer.sourceVocabulary.unkID)
    }

    /// One translator shared by concurrent tasks gives what sequential use gives.
    @Test func concurrentTasksMatchSequentialUse() async throws {
        let translator = try Fixtures.translator("marian-shared")
        let options = DecodingOptions(beamSize: 3, maxLength: 16)
        let inputs = (0..<16).map { Self.sentences[$0 % Self.sentences.count] + String(repeating: " again", count: $0 % 3) }
        let sequential = try inputs.map { try translator.translate([$0], options: options)[0] }
        let concurrent = try await withThrowingTaskGroup(of: (Int, Translation).self) { group in
            for (i, input) in inputs.enumerated() {
                group.addTask { (i, try translator.translate([input], options: options)[0]) }
            }
            var results = [Translation?](repeating: nil, count: inputs.count)
            for try await (i, t) in group { results[i] = t }
            return results.map { $0! }
        }
        #expect(concurrent == sequential)
    }
}
