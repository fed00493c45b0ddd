import NMTModel

/// One searched continuation of a source: what the searches return, and what a translation's
/// n-best list is made of (the translator adds its text).
public struct Hypothesis: Sendable, Equatable {
    /// Generated target ids, `</s>` included when the hypothesis ended with it.
    public var tokens: [Int32]
    /// Sum of the token log-probabilities.
    public var logProbability: Float
    /// `logProbability / tokens.count^lengthPenalty`, the ranking score.
    public var score: Float
    /// The attention weights of its steps, when they were asked for (`DecodingOptions.attention`).
    public var attention: AttentionWeights?

    public init(tokens: [Int32], logProbability: Float, score: Float, attention: AttentionWeights? = nil) {
        self.tokens = tokens
        self.logProbability = logProbability
        self.score = score
        self.attention = attention
    }
}
