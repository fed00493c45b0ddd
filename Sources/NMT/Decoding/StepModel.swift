/// One decoding step's scores: for row r and token v,
/// log p(v | row r) = `logits[r · vocabularySize + v] − logNormalizers[r]`.
/// Keeping the normalizer apart saves a pass over the vocabulary; searches may overwrite entries
/// of `logits` (to mask tokens) until the next step.
public struct StepScores {
    public let logits: UnsafeMutableBufferPointer<Float>
    public let logNormalizers: [Float]

    public init(logits: UnsafeMutableBufferPointer<Float>, logNormalizers: [Float]) {
        self.logits = logits
        self.logNormalizers = logNormalizers
    }
}

/// What a search sees of a model: one step of scores for every decoding row, and reordering of
/// rows when beams are reselected. Greedy and beam search depend on nothing else, so they are
/// tested with a small deterministic fake as well as with the Transformer.
public protocol StepModel {
    /// Size of the target vocabulary: each step scores `rows × vocabularySize` tokens.
    var vocabularySize: Int { get }
    var eosID: Int32 { get }
    var padID: Int32 { get }
    /// The first token fed to the decoder.
    var startID: Int32 { get }
    /// Feeds one token per row and returns the scores of each row's next token, valid until the next call.
    mutating func next(_ tokens: [Int32]) throws -> StepScores
    /// Row r continues from what row `sources[r]` was.
    mutating func reorder(_ sources: [Int]) throws
}

/// The Transformer as a `StepModel` for one batch.
public struct TransformerStepModel: StepModel {
    public let model: TransformerModel
    public let state: DecoderState
    /// Reused every step (the previous step's scores are gone by the next call, so no copy).
    private var normalizers: [Float]

    public init(model: TransformerModel, state: DecoderState) {
        self.model = model
        self.state = state
        normalizers = [Float](repeating: 0, count: state.rows)
    }

    public var vocabularySize: Int { model.config.targetVocabSize }
    public var eosID: Int32 { Int32(model.config.eosID) }
    public var padID: Int32 { Int32(model.config.padID) }
    public var startID: Int32 { Int32(model.config.decoderStartID) }

    public mutating func next(_ tokens: [Int32]) throws -> StepScores {
        let logits = try model.decode(state, tokens: tokens, steps: 1)
        let computed = state.logNormalizers
        normalizers.withUnsafeMutableBufferPointer { out in
            for r in 0..<out.count { out[r] = computed[r] }
        }
        return StepScores(logits: UnsafeMutableBufferPointer(mutating: logits), logNormalizers: normalizers)
    }

    public mutating func reorder(_ sources: [Int]) throws {
        try state.reorder(sources)
    }
}
