import NMTDecoding
import NMTText

/// One candidate translation of a sentence: the search's hypothesis and its text.
public struct TranslationHypothesis: Sendable, Equatable {
    public var text: String
    /// Target pieces, without `</s>`.
    public var tokens: [String]
    /// The attention weights of the hypothesis's steps, when asked for: rows are its target
    /// pieces and `</s>`, columns the segment's `sourcePieces`. Nil for the joined hypothesis of
    /// a line of several segments (each segment has its own).
    public var attention: AttentionWeights? { hypothesis.attention }
    /// What the search found: ids (`</s>` included when generation ended with it) and scores.
    public var hypothesis: Hypothesis

    /// Model ids, `</s>` included when generation ended with it.
    public var ids: [Int32] { hypothesis.tokens }
    /// Log-probability normalized by length^lengthPenalty (the beam ranking score).
    public var score: Float { hypothesis.score }
    /// Sum of the token log-probabilities.
    public var logProbability: Float { hypothesis.logProbability }
}

/// One sentence (or part of a long sentence) of a line and its translation.
public struct TranslatedSegment: Sendable, Equatable {
    /// Where the segment is in the line, in UTF-16 code units (as JavaScript and ICU count).
    public var utf16Range: Range<Int>
    /// Best first.
    public var hypotheses: [TranslationHypothesis]
    /// The source pieces the model read, `</s>` included: the columns of the hypotheses'
    /// cross-attention. Filled when attention was asked for (`DecodingOptions.attention`).
    public var sourcePieces: [String] = []
}

/// The translation of one input line: the best hypothesis and the n-best list.
public struct Translation: Sendable, Equatable {
    /// Best first; empty for an empty input line. For a line of several segments, hypothesis k
    /// joins the k-th hypothesis of every segment (or a segment's last, when it has fewer).
    public var hypotheses: [TranslationHypothesis]
    /// The source was longer than the model's maximum positions and only its beginning was
    /// translated (only with `SplitMode.none`).
    public var sourceTruncated: Bool
    /// The line's sentences (or parts) and their translations, in order.
    public var segments: [TranslatedSegment] = []

    public var text: String { hypotheses.first?.text ?? "" }
    public var score: Float { hypotheses.first?.score ?? 0 }
}

public enum TranslatorError: Error, Equatable, CustomStringConvertible, Sendable {
    case modelFile(ModelFileError)
    case tokenizer(TokenizerError)
    case model(ModelError)
    case options(DecodingOptionsError)
    case segmentation(TextSegmentationError)

    init(_ error: DecodingError) {
        switch error {
        case .options(let e): self = .options(e)
        case .model(let e): self = .model(e)
        }
    }

    public var description: String {
        switch self {
        case .modelFile(let e): return e.description
        case .tokenizer(let e): return e.description
        case .model(let e): return e.description
        case .options(let e): return e.description
        case .segmentation(let e): return e.description
        }
    }
}
