/// How to search for translations.
public struct DecodingOptions: Sendable, Equatable {
    /// 1 is greedy search.
    public var beamSize: Int
    /// Hypotheses returned per sentence (at most `beamSize`).
    public var nBest: Int
    /// Beam hypotheses are ranked by log-probability / length^lengthPenalty, where length counts
    /// generated tokens including `</s>` (Hugging Face's convention).
    public var lengthPenalty: Float
    /// Most generated tokens per sentence, `</s>` included (`max_new_tokens`).
    public var maxLength: Int
    /// If set, a sentence of n source tokens also stops after ⌈maxLengthRatio · n⌉ tokens.
    public var maxLengthRatio: Double?
    /// `</s>` is suppressed until this many tokens have been generated (`min_new_tokens`).
    public var minLength: Int
    /// Record the attention weights of every hypothesis returned (`Hypothesis.attention`).
    /// Off, recording costs nothing.
    public var attention: Bool
    /// Compute each hypothesis's log-probability and score. A greedy search (beam size 1) does not
    /// need them to pick its tokens: off, it skips the log-softmax over the vocabulary (2–3% of a
    /// greedy run; CTranslate2's `return_scores=False`) and its hypotheses' `logProbability` and
    /// `score` are NaN. Beam search ranks its beams by them and computes them always.
    public var scores: Bool

    public init(beamSize: Int = 4, nBest: Int = 1, lengthPenalty: Float = 1, maxLength: Int = 256,
                maxLengthRatio: Double? = nil, minLength: Int = 0, attention: Bool = false, scores: Bool = true) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.lengthPenalty = lengthPenalty
        self.maxLength = maxLength
        self.maxLengthRatio = maxLengthRatio
        self.minLength = minLength
        self.attention = attention
        self.scores = scores
    }

    /// Throws if a value is out of range.
    public func validate() throws(DecodingOptionsError) {
        guard beamSize >= 1 else { throw .invalidOption("beam size must be at least 1, got \(beamSize)") }
        guard nBest >= 1, nBest <= beamSize else {
            throw .invalidOption("n-best must be between 1 and the beam size (\(beamSize)), got \(nBest)")
        }
        guard maxLength >= 1 else { throw .invalidOption("maximum length must be at least 1, got \(maxLength)") }
        guard minLength >= 0 else { throw .invalidOption("minimum length must not be negative, got \(minLength)") }
        guard lengthPenalty.isFinite else { throw .invalidOption("length penalty must be a finite number") }
        if let ratio = maxLengthRatio, !(ratio > 0 && ratio.isFinite) {
            throw .invalidOption("maximum length ratio must be a positive number, got \(ratio)")
        }
    }

    /// The generation limit for a source of `sourceLength` tokens.
    public func maxLength(sourceLength: Int) -> Int {
        guard let ratio = maxLengthRatio else { return maxLength }
        return max(1, min(maxLength, Int((ratio * Double(sourceLength)).rounded(.up))))
    }
}

public enum DecodingOptionsError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidOption(String)

    public var description: String {
        switch self {
        case .invalidOption(let why): return why
        }
    }
}
