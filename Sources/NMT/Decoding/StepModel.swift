/// What a search sees of a model: one step of log-probabilities for every decoding row, and
/// reordering of rows when beams are reselected. Greedy and beam search depend on nothing else,
/// so they are tested with a small deterministic fake as well as with the Transformer.
public protocol StepModel {
    /// Size of the target vocabulary: each step returns `rows × vocabularySize` values.
    var vocabularySize: Int { get }
    var eosID: Int32 { get }
    var padID: Int32 { get }
    /// The first token fed to the decoder.
    var startID: Int32 { get }
    /// Feeds one token per row and returns the log-softmax over the vocabulary for each row's
    /// next token, `[rows, vocabularySize]`, valid until the next call.
    mutating func nextLogProbabilities(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float>
    /// Row r continues from what row `sources[r]` was.
    mutating func reorder(_ sources: [Int]) throws
}

/// The Transformer as a `StepModel` for one batch.
public struct TransformerStepModel: StepModel {
    public let model: TransformerModel
    public let state: DecoderState

    public init(model: TransformerModel, state: DecoderState) {
        self.model = model
        self.state = state
    }

    public var vocabularySize: Int { model.config.targetVocabSize }
    public var eosID: Int32 { Int32(model.config.eosID) }
    public var padID: Int32 { Int32(model.config.padID) }
    public var startID: Int32 { Int32(model.config.decoderStartID) }

    public mutating func nextLogProbabilities(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let logits = try model.decode(state, tokens: tokens, steps: 1)
        let V = vocabularySize
        let values = UnsafeMutablePointer(mutating: logits.baseAddress!)
        for r in 0..<state.rows { logSoftmax(values + r * V, count: V) }
        return logits
    }

    public mutating func reorder(_ sources: [Int]) throws {
        try state.reorder(sources)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// In place: x − max − log Σ exp(x − max).
func logSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var maximum = -Float.infinity
    for i in 0..<count { maximum = max(maximum, x[i]) }
    var sum: Float = 0
    for i in 0..<count { sum += expf(x[i] - maximum) }
    let shift = maximum + logf(sum)
    for i in 0..<count { x[i] -= shift }
}
