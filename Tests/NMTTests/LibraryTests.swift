import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTModel

/// The library as a user adopts it: splitting, batching, async calls, scoring text, and misuse
/// that must be a typed error.
@Suite struct LibraryTests {
    static var tiny: Translator { get throws { try Translator(modelPath: TinyModelTests.modelPath) } }

    static let sentences = ["A dog runs on the beach.", "Two men are talking on a bench in the park.",
                            "A woman in a red coat is reading a book.", "Children play soccer.",
                            "A man rides a bicycle down a busy street while people watch."]

    /// A paragraph line is translated sentence by sentence: each sentence as it is alone, joined
    /// with the line's own spacing, and its segments cover the sentences' places in the line.
    @Test func paragraphsAreTranslatedSentenceBySentence() throws {
        let translator = try Self.tiny
        let options = DecodingOptions(beamSize: 2)
        let alone = try translator.translate(Self.sentences, options: options).map(\.text)
        let paragraph = Self.sentences.joined(separator: "  ")
        let result = try translator.translate([paragraph], options: options)[0]
        #expect(result.text == alone.joined(separator: "  "))
        #expect(result.segments.map(\.hypotheses[0].text) == alone)
        let utf16 = Array(paragraph.utf16)
        for (segment, sentence) in zip(result.segments, Self.sentences) {
            #expect(String(decoding: utf16[segment.utf16Range], as: UTF16.self) == sentence)
        }
        // Without splitting the paragraph is one sequence, as transformers would translate it.
        let whole = try translator.translate([paragraph], options: options, split: .none)[0]
        #expect(whole.segments.count == 1 && whole.text != result.text)
    }

    /// A line far longer than the model's positions is cut into parts that fit: nothing truncated,
    /// every part translated, the parts covering the whole line.
    @Test(arguments: [SplitMode.sentences, .long])
    func longLinesAreCutNotTruncated(split: SplitMode) throws {
        let translator = try Self.tiny
        let line = Array(repeating: "a brown dog runs across the green grass", count: 120).joined(separator: " ")
        let result = try translator.translate([line], options: DecodingOptions(beamSize: 1), split: split)[0]
        #expect(!result.sourceTruncated)
        #expect(result.segments.count > 1)
        #expect(result.segments.allSatisfy { !$0.hypotheses[0].text.isEmpty })
        var covered = 0
        for segment in result.segments {
            let gap = String(decoding: Array(line.utf16)[covered..<segment.utf16Range.lowerBound], as: UTF16.self)
            #expect(gap.allSatisfy { $0.isWhitespace }, "text between parts was skipped")
            covered = segment.utf16Range.upperBound
        }
        #expect(covered == line.utf16.count)
    }

    /// Results do not depend on how the sentences are batched (sorted by length, any size), nor on
    /// how many batches run at once (workers, each on its replica of the model; with one batch's
    /// worth of sentences, its share of them).
    @Test func batchingDoesNotChangeResults() throws {
        let oneWorker = try Translator(modelPath: TinyModelTests.modelPath, threads: 2, workers: 1)
        let twoWorkers = try Translator(modelPath: TinyModelTests.modelPath, threads: 2, workers: 2)
        #expect(oneWorker.workers == 1 && twoWorkers.workers == 2)
        let lines = Self.sentences + ["", "Hi.", Self.sentences.joined(separator: " ")]
        for beam in [1, 3] {
            let options = DecodingOptions(beamSize: beam, nBest: beam)
            let reference = try oneWorker.translate(lines, options: options, batching: Batching(maxSentences: 1))
            let batchings = [Batching(maxSentences: 3), Batching(maxSentences: 64), Batching(maxSentences: 64, maxTokens: 40)]
            for (batching, translator) in batchings.flatMap({ b in [(b, oneWorker), (b, twoWorkers)] }) {
                let results = try translator.translate(lines, options: options, batching: batching)
                // Identical texts and ids; scores within float rounding (a product's row sums in
                // a different order when the batch has a different number of rows).
                #expect(results.map { $0.hypotheses.map(\.text) } == reference.map { $0.hypotheses.map(\.text) }, "\(batching), \(translator.workers) workers")
                #expect(results.map { $0.hypotheses.map(\.ids) } == reference.map { $0.hypotheses.map(\.ids) }, "\(batching), \(translator.workers) workers")
                for (r, e) in zip(results, reference) {
                    #expect(maxAbsDifference(r.hypotheses.map(\.score), e.hypotheses.map(\.score)) < 1e-4)
                }
            }
        }
    }

    /// Workers are at least one and at most one per thread.
    @Test func workersAreBoundedByThreads() throws {
        #expect(try Translator(modelPath: TinyModelTests.modelPath, threads: 2, workers: 8).workers == 2)
        #expect(try Translator(modelPath: TinyModelTests.modelPath, threads: 1, workers: 2).workers == 1)
        #expect(throws: TranslatorError.self) { try Translator(modelPath: TinyModelTests.modelPath, workers: 0) }
    }

    /// Two translators with different thread counts translate at the same time, each as it does alone.
    @Test func translatorsWithTheirOwnThreadsWorkConcurrently() async throws {
        let one = try Translator(modelPath: TinyModelTests.modelPath, threads: 1)
        let two = try Translator(modelPath: TinyModelTests.modelPath, threads: 2)
        #expect(one.model.threads == 1 && two.model.threads == 2)
        let expected = try await one.translate(Self.sentences, options: DecodingOptions(beamSize: 2)).map(\.text)
        try await withThrowingTaskGroup(of: [String].self) { group in
            for translator in [one, two, one, two] {
                group.addTask { try await translator.translate(Self.sentences, options: DecodingOptions(beamSize: 2)).map(\.text) }
            }
            for try await texts in group { #expect(texts == expected) }
        }
        let single = try await two.translate(Self.sentences[0])
        #expect(single == expected[0])
    }

    /// Scoring a translation given as text is the log-probability of its target ids.
    @Test func scoringTextEqualsTheSearchScore() throws {
        let translator = try Self.tiny
        let best = try translator.translate([Self.sentences[0]], options: DecodingOptions(beamSize: 1))[0].hypotheses[0]
        let score = try translator.score(source: Self.sentences[0], target: best.text)
        #expect(abs(score - best.logProbability) < 1e-3)
        #expect(try translator.score(source: Self.sentences[0], target: "Katze Katze Katze.") < score)
    }

    /// The searches refuse invalid options themselves, with a typed error.
    @Test func searchesRejectInvalidOptions() throws {
        var model = FakeModel(seeds: [1])
        #expect(throws: DecodingError.options(.invalidOption("n-best must be between 1 and the beam size (2), got 3"))) {
            try BeamSearch.run(&model, maxLengths: [4], options: DecodingOptions(beamSize: 2, nBest: 3))
        }
        #expect(throws: DecodingError.self) {
            try GreedySearch.run(&model, maxLengths: [4], options: DecodingOptions(beamSize: 0))
        }
    }

    /// Finished rows leave the batch: later steps feed only the rows still searching.
    @Test func finishedRowsLeaveTheBatch() throws {
        var model = FakeModel(seeds: Array(1...12))
        let hypotheses = try GreedySearch.run(&model, maxLengths: Array(repeating: 12, count: 12),
                                              options: DecodingOptions(beamSize: 1, maxLength: 12))
        let lengths = hypotheses.map(\.tokens.count)
        #expect(model.rowsPerStep == (0..<lengths.max()!).map { t in lengths.filter { $0 > t }.count })
        #expect(model.rowsPerStep.last! < 12)
    }

    /// A state decodes only with the model that started it.
    @Test func aStateBelongsToItsModel() throws {
        let a = try Self.tiny, b = try Self.tiny
        let state = try a.model.startDecoding(try a.model.encode([[5, 6, 0]]), rowsPerSentence: 1, maxLength: 4)
        #expect(throws: ModelError.self) { try b.model.decode(state, tokens: [0], steps: 1) }
        #expect(throws: ModelError.self) { try state.select([0, 0]) }  // more rows than it was started with
    }

    /// The key/value cache starts with room for 64 positions and grows: 200 positions decoded one
    /// at a time give the logits of decoding them all at once.
    @Test func theCacheGrowsPastItsFirstCapacity() throws {
        let model = try Self.tiny.model
        let encoded = try model.encode([[12, 40, 7, 0]])
        let tokens = (0..<200).map { Int32(5 + $0 % 50) }
        let all = try model.startDecoding(encoded, rowsPerSentence: 1, maxLength: 200)
        let expected = Array(try model.decode(all, tokens: tokens, steps: 200).allRows().suffix(model.config.targetVocabSize))
        let stepwise = try model.startDecoding(encoded, rowsPerSentence: 1, maxLength: 200)
        var last: [Float] = []
        for token in tokens { last = Array(try model.decode(stepwise, tokens: [token], steps: 1).allRows()) }
        #expect(maxAbsDifference(last, expected) < 1e-4)
    }

    /// A file written in format version 1 keeps loading and translating, whatever the format becomes.
    @Test func formatVersion1StillLoads() throws {
        let reference = try Fixtures.reference("marian-shared")
        let translator = try Translator(modelPath: Fixtures.url("format-v1.bin").path)
        let search = reference.searches[0]
        let options = DecodingOptions(beamSize: search.beam_size, lengthPenalty: search.length_penalty,
                                      maxLength: search.max_length)
        #expect(try translator.translate(reference.sentences, options: options, split: .none).map(\.text) == search.texts)
    }
}
