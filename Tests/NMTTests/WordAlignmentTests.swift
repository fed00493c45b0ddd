import Testing
@testable import NMT

/// Pieces to words, as whitespace separates the decoded text.
@Suite struct WordAlignmentTests {
    @Test func piecesMapToWhitespaceWords() {
        // "Eine Frau  Himmel, ok" decoded from these pieces: a lone ▁ is a space, not a word.
        let pieces = ["▁Eine", "▁Frau", "▁", "▁Him", "mel", ",", "▁", ",", "▁ok", "</s>"]
        #expect(WordAlignment.wordIndices(pieces) == [0, 1, nil, 2, 2, 2, nil, 3, 4, nil])
        // A text that starts without the mark still starts at word 0.
        #expect(WordAlignment.wordIndices(["Hal", "lo", "▁Welt"]) == [0, 0, 1])
        #expect(WordAlignment.wordIndices(["</s>"]) == [nil])
    }

    /// Word weights: summed over a source word's pieces, averaged over a target word's pieces,
    /// </s> on neither side; heads averaged.
    @Test func wordAttentionSumsSourcePiecesAndAveragesTargetPieces() throws {
        let source = ["▁Ein", "▁Hund", "e", "</s>"]          // words: Ein, Hunde
        let target = ["▁A", "▁do", "gs"]                     // words: A, dogs (+ the </s> step)
        // One layer, two heads, 4 target rows (3 pieces and the </s> step) × 4 source pieces.
        let head0: [Float] = [0.8, 0.1, 0.0, 0.1,   0.0, 0.6, 0.4, 0.0,   0.2, 0.2, 0.2, 0.4,   0, 0, 0, 1]
        let head1: [Float] = [0.6, 0.3, 0.0, 0.1,   0.2, 0.4, 0.2, 0.2,   0.0, 0.5, 0.5, 0.0,   0, 0, 0, 1]
        let cross = AttentionMatrices(layers: 1, heads: 2, rows: 4, columns: 4, values: head0 + head1)
        let empty = AttentionMatrices(layers: 1, heads: 2, rows: 0, columns: 0, values: [])
        let hypothesis = Hypothesis(tokens: [10, 11, 12, 0], logProbability: -1, score: -1,
                                    attention: AttentionWeights(cross: cross, decoderSelf: empty, encoderSelf: empty))
        let segment = TranslatedSegment(utf16Range: 0..<9, hypotheses: [TranslationHypothesis(
            text: "A dogs", tokens: target, hypothesis: hypothesis)], sourcePieces: source)
        let words = try #require(WordAttention(segment))
        #expect(words.sourceWords == ["Ein", "Hunde"])
        #expect(words.targetWords == ["A", "dogs"])
        // Head mean rows: [0.7, 0.2, 0, 0.1], [0.1, 0.5, 0.3, 0.1], [0.1, 0.35, 0.35, 0.2].
        // "A" = row 0: Ein 0.7, Hunde 0.2. "dogs" = mean of rows 1 and 2: Ein 0.1, Hunde (0.8 + 0.7) / 2.
        let expected: [[Float]] = [[0.7, 0.2], [0.1, 0.75]]
        for (row, want) in zip(words.weights, expected) {
            for (got, w) in zip(row, want) { #expect(abs(got - w) < 1e-6) }
        }
        #expect(words.weights.map(\.count) == [2, 2])
        // Layer 0 is the only one; a layer the model does not have gives nothing, not a trap.
        #expect(WordAttention(segment, layer: 0) == words)
        #expect(WordAttention(segment, layer: 1) == nil)
        #expect(WordAttention(segment, layer: -1) == nil)
        // Without attention there is nothing to show.
        var plain = segment
        plain.hypotheses[0].hypothesis.attention = nil
        #expect(WordAttention(plain) == nil)
    }
}
