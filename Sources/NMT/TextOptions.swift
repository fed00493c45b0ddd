/// How a line is divided before it is translated.
public enum SplitMode: String, Sendable, CaseIterable {
    /// Every sentence of a line (ICU's sentence rules) is translated on its own, and a sentence too
    /// long for the model is cut into parts that fit: models are trained on sentences, and a
    /// paragraph translated as one sequence loses sentences.
    case sentences
    /// Only a line too long for the model is cut (at clause punctuation, then between words).
    case long
    /// Each line is one sequence, truncated to the model's positions if it is longer (what
    /// Hugging Face `generate` does): for exact comparisons only.
    case none
}

/// How the sentences of a call are grouped into batches. Sentences are sorted by length first, so
/// that a batch holds sentences of about the same length and pads little; results come back in
/// input order and do not depend on the batching.
public struct Batching: Sendable, Equatable {
    /// Most sentences decoded together.
    public var maxSentences: Int
    /// If set, most source tokens in a batch, counted as its sentences × its longest sentence
    /// (CTranslate2's `batch_type="tokens"`).
    public var maxTokens: Int?

    public init(maxSentences: Int = 64, maxTokens: Int? = nil) {
        self.maxSentences = maxSentences
        self.maxTokens = maxTokens
    }
}
