/// One candidate translation of a sentence: the search's hypothesis and its text.
public struct TranslationHypothesis: Sendable, Equatable {
    public var text: String
    /// Target pieces, without `</s>`.
    public var tokens: [String]
    /// What the search found: ids (`</s>` included when generation ended with it) and scores.
    public var hypothesis: Hypothesis

    /// Model ids, `</s>` included when generation ended with it.
    public var ids: [Int32] { hypothesis.tokens }
    /// Log-probability normalized by length^lengthPenalty (the beam ranking score).
    public var score: Float { hypothesis.score }
    /// Sum of the token log-probabilities.
    public var logProbability: Float { hypothesis.logProbability }
}

/// The translation of one input line: the best hypothesis and the n-best list.
public struct Translation: Sendable, Equatable {
    /// Best first; empty for an empty input line.
    public var hypotheses: [TranslationHypothesis]
    /// The source was longer than the model's maximum positions and only its beginning was translated.
    public var sourceTruncated: Bool

    public var text: String { hypotheses.first?.text ?? "" }
    public var score: Float { hypotheses.first?.score ?? 0 }
}

public enum TranslatorError: Error, Equatable, CustomStringConvertible, Sendable {
    case modelFile(ModelFileError)
    case tokenizer(TokenizerError)
    case model(ModelError)
    case options(DecodingOptionsError)

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
        }
    }
}
