/// A sentence's cross-attention between words rather than pieces, as a person reads it: which
/// source words each target word looked at. Built from the best hypothesis of a segment.
///
/// Words are what `WordAlignment` counts (pieces grouped by SentencePiece's `▁`). The weight of
/// target word t on source word s is the attention its pieces gave the pieces of s, summed over
/// the pieces of s and averaged over the pieces of t, from one decoder layer averaged over heads.
/// `</s>` is no word on either side, so a row sums to the share of attention the words got
/// (at most 1).
public struct WordAttention: Sendable, Equatable {
    /// Source words as the model read them (the pieces joined, `▁` removed).
    public var sourceWords: [String]
    /// Target words of the translation, in order.
    public var targetWords: [String]
    /// [target word][source word].
    public var weights: [[Float]]

    /// nil when the segment's best hypothesis carries no attention (not asked for), or when the
    /// model has no decoder layer `layer`.
    ///
    /// layer: the decoder layer whose cross-attention is read, from 0; nil for the last.
    public init?(_ segment: TranslatedSegment, layer: Int? = nil) {
        guard let best = segment.hypotheses.first, let attention = best.attention else { return nil }
        let layer = layer ?? attention.cross.layers - 1
        guard (0..<attention.cross.layers).contains(layer) else { return nil }
        let pieces = attention.cross.headMean(layer: layer)  // [target piece][source piece]
        let sourceIndex = WordAlignment.wordIndices(segment.sourcePieces)
        let targetIndex = WordAlignment.wordIndices(best.tokens)
        sourceWords = Self.words(segment.sourcePieces, sourceIndex)
        targetWords = Self.words(best.tokens, targetIndex)
        var sums = Array(repeating: Array(repeating: Float(0), count: sourceWords.count), count: targetWords.count)
        var piecesOfTarget = Array(repeating: 0, count: targetWords.count)
        // Rows past the target pieces (the step that generated </s>) take no part.
        for (t, targetWord) in targetIndex.enumerated() where t < pieces.count {
            guard let targetWord else { continue }
            piecesOfTarget[targetWord] += 1
            for (s, sourceWord) in sourceIndex.enumerated() where s < pieces[t].count {
                if let sourceWord { sums[targetWord][sourceWord] += pieces[t][s] }
            }
        }
        weights = zip(sums, piecesOfTarget).map { row, n in row.map { $0 / Float(max(n, 1)) } }
    }

    /// The text of each word: its pieces joined without the word-start mark.
    private static func words(_ pieces: [String], _ index: [Int?]) -> [String] {
        var words: [String] = []
        for (piece, word) in zip(pieces, index) {
            guard let word else { continue }
            if word == words.count { words.append("") }
            words[word] += piece.replacingOccurrences(of: "\u{2581}", with: "")
        }
        return words
    }
}
