import NMTModel

/// The Transformer as a `StepModel` for one batch of sentences.
public struct TransformerStepModel: StepModel {
    public let model: TransformerModel
    public let state: DecoderState
    /// Whether `next` computes the logits' log-softmax normalizers; without them log-probabilities
    /// are NaN (enough for a greedy search that reports no scores).
    public let normalizers: Bool

    public init(model: TransformerModel, state: DecoderState, normalizers: Bool = true) {
        self.model = model
        self.state = state
        self.normalizers = normalizers
    }

    public var vocabularySize: Int { model.config.targetVocabSize }
    public var eosID: Int32 { Int32(model.config.eosID) }
    public var padID: Int32 { Int32(model.config.padID) }
    public var startID: Int32 { Int32(model.config.decoderStartID) }

    public mutating func next(_ tokens: [Int32]) throws(ModelError) -> Logits {
        try model.decode(state, tokens: tokens, steps: 1, normalizers: normalizers)
    }

    public mutating func select(_ sources: [Int]) throws(ModelError) {
        try state.select(sources)
    }

    public func attention(row: Int) -> AttentionWeights? {
        state.attention(row: row)
    }
}
