import Foundation
import Testing
import NMT

/// models/tiny.bin, the model this project trains (tools/train.py), translates fixed sentences
/// exactly as transformers does with the same weights (recorded by tools/record_tiny.py).
@Suite struct TinyModelTests {
    struct Expected: Decodable {
        var sentences: [String]
        var max_length: Int
        var greedy: [String]
        var beam4: [String]
    }

    static let modelPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/tiny.bin").path

    @Test func translatesFixedSentencesExactly() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Fixtures.url("tiny-expected.json")))
        let translator = try Translator(modelPath: Self.modelPath)
        for (beam, texts) in [(1, expected.greedy), (4, expected.beam4)] {
            let options = DecodingOptions(beamSize: beam, maxLength: expected.max_length)
            let results = try translator.translate(expected.sentences, options: options)
            #expect(results.map(\.text) == texts, "beam \(beam)")
        }
    }

    /// Without scores a greedy search skips the log-softmax: the same tokens, scores NaN; beam
    /// search computes them anyway.
    @Test func greedyWithoutScoresPicksTheSameTokens() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Fixtures.url("tiny-expected.json")))
        let translator = try Translator(modelPath: Self.modelPath)
        let scored = try translator.translate(expected.sentences, options: DecodingOptions(beamSize: 1))
        let unscored = try translator.translate(expected.sentences, options: DecodingOptions(beamSize: 1, scores: false))
        #expect(unscored.map(\.hypotheses.first?.ids) == scored.map(\.hypotheses.first?.ids))
        #expect(unscored.allSatisfy { $0.score.isNaN } && scored.allSatisfy { $0.score.isFinite })
        let beam = try translator.translate(expected.sentences, options: DecodingOptions(beamSize: 4, scores: false))
        #expect(beam.allSatisfy { $0.score.isFinite })
    }
}
