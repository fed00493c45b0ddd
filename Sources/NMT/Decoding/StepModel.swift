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
        let V = vocabularySize, rows = state.rows
        let values = UnsafeMutablePointer(mutating: logits.baseAddress!)
        normalizers.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            // One exp costs about eight multiply-adds.
            parallelFor(rows, threads: Threads.forWork(8 * rows * V)) { r in
                out[r] = logNormalizer(values + r * V, count: V)
            }
        }
        return StepScores(logits: UnsafeMutableBufferPointer(start: values, count: logits.count), logNormalizers: normalizers)
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

/// log Σ exp(x): the log-softmax of x[i] is x[i] minus this.
@inline(__always)
func logNormalizer(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let maximum = VectorMath.maximum(x, count: count)
    guard maximum.isFinite else { return maximum }
    return maximum + logf(VectorMath.sumOfExponentials(x, count: count, shift: maximum))
}

/// In place: x − log Σ exp(x).
func logSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let shift = logNormalizer(x, count: count)
    for i in 0..<count { x[i] -= shift }
}
