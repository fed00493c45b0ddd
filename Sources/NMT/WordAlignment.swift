/// Hard word alignment read off the model's cross-attention, as Marian's `--alignment hard`
/// prints it: each target word is aligned to the source word its pieces attended to most.
///
/// Pieces are mapped to words by SentencePiece's word-start mark `▁`: a word is a piece that
/// starts with it and the pieces after it that do not, so words are what whitespace separates
/// in the text. `</s>` takes part on neither side.
public enum WordAlignment {
    /// (source word, target word) pairs of a line's best translation, word indices counted over
    /// the whole line (its segments' words one after the other), ordered by target word, then
    /// source word. Empty when the translation carries no attention.
    ///
    /// layer: the decoder layer whose cross-attention (averaged over heads) is read; nil for the last.
    public static func pairs(of translation: Translation, layer: Int? = nil) -> [(source: Int, target: Int)] {
        var pairs: [(source: Int, target: Int)] = []
        var sourceOffset = 0, targetOffset = 0
        for segment in translation.segments {
            guard let best = segment.hypotheses.first, let attention = best.attention else { return [] }
            let sourceWords = wordIndices(segment.sourcePieces)
            let targetWords = wordIndices(best.tokens)
            let weights = attention.cross.headMean(layer: layer ?? attention.cross.layers - 1)
            var seen = Set<[Int]>()
            // Rows past the target pieces (the step that generated </s>) and </s> columns take no part.
            for (t, targetWord) in targetWords.enumerated() where t < weights.count {
                guard let targetWord else { continue }
                var strongest: (word: Int, weight: Float)?
                for (s, sourceWord) in sourceWords.enumerated() where s < weights[t].count {
                    guard let sourceWord else { continue }
                    if strongest == nil || weights[t][s] > strongest!.weight { strongest = (sourceWord, weights[t][s]) }
                }
                guard let sourceWord = strongest?.word else { continue }
                let pair = [sourceOffset + sourceWord, targetOffset + targetWord]
                if seen.insert(pair).inserted { pairs.append((pair[0], pair[1])) }
            }
            sourceOffset += (sourceWords.compactMap { $0 }.max() ?? -1) + 1
            targetOffset += (targetWords.compactMap { $0 }.max() ?? -1) + 1
        }
        return pairs.sorted { ($0.target, $0.source) < ($1.target, $1.source) }
    }

    /// Marian's text form: `0-0 1-2 …` (source-target).
    public static func text(_ pairs: [(source: Int, target: Int)]) -> String {
        pairs.map { "\($0.source)-\($0.target)" }.joined(separator: " ")
    }

    /// The word index of each piece: words as whitespace separates them in the decoded text.
    /// nil for `</s>`, `<pad>` and a piece that is only `▁` (it decodes to a space, no text).
    static func wordIndices(_ pieces: [String]) -> [Int?] {
        var word = -1, startsWord = true
        return pieces.map { piece in
            if piece == "</s>" || piece == "<pad>" { return nil }
            if piece.hasPrefix("\u{2581}") { startsWord = true }
            if piece.allSatisfy({ $0 == "\u{2581}" }) { return nil }
            if startsWord || word < 0 {
                word += 1
                startsWord = false
            }
            return word
        }
    }
}
