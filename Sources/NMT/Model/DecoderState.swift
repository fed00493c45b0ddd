import CKernels

/// Everything that changes while decoding one batch: the self-attention cache, the
/// cross-attention keys and values (computed once per source, shared by all rows of a sentence)
/// and scratch buffers. The model itself stays immutable, so one model serves many states.
public final class DecoderState {
    /// Decoding rows: `batchSize × rowsPerSentence` (beams of a sentence are adjacent).
    public let rows: Int
    public let rowsPerSentence: Int
    /// Sentence (index in the encoder batch) that each row translates.
    let rowSentence: [Int]
    let sourceLengths: [Int]
    let sourcePaddedLength: Int
    /// Per decoder layer: [batch, heads, sourcePaddedLength, headDim]
    let crossKeys: [[Float]]
    let crossValues: [[Float]]
    let cache: KVCache

    // Scratch, sized for the largest step seen.
    let x = ScratchBuffer(), normed = ScratchBuffer(), q = ScratchBuffer(), k = ScratchBuffer()
    let v = ScratchBuffer(), context = ScratchBuffer(), projected = ScratchBuffer()
    let hidden = ScratchBuffer(), scores = ScratchBuffer(), logits = ScratchBuffer(), positions = ScratchBuffer()
    let blockMax = ScratchBuffer(), blockSum = ScratchBuffer(), normalizers = ScratchBuffer()
    /// Attention jobs of one layer, [rows × heads], refilled every layer without reallocating.
    var attentionJobs: [nmt_attention_job] = []

    /// log Σ exp of each row of logits that the last `decode` returned ([rows, steps]); valid until
    /// the next call.
    public var logNormalizers: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: normalizers.pointer, count: lastDecodedRows)
    }
    var lastDecodedRows = 0

    /// Positions decoded so far.
    public var length: Int { cache.length }

    init(rowsPerSentence: Int, encoder: EncoderOutput, crossKeys: [[Float]], crossValues: [[Float]], cache: KVCache) {
        self.rowsPerSentence = rowsPerSentence
        rows = encoder.batchSize * rowsPerSentence
        rowSentence = (0..<rows).map { $0 / rowsPerSentence }
        sourceLengths = encoder.lengths
        sourcePaddedLength = encoder.paddedLength
        self.crossKeys = crossKeys
        self.crossValues = crossValues
        self.cache = cache
    }

    /// Row r continues from row `sources[r]`; rows must stay within their sentence.
    public func reorder(_ sources: [Int]) throws(ModelError) {
        guard sources.count == rows else {
            throw .stateMismatch("reorder got \(sources.count) rows, the state has \(rows)")
        }
        for (r, s) in sources.enumerated() where !(0..<rows).contains(s) || rowSentence[s] != rowSentence[r] {
            throw .stateMismatch("row \(r) cannot take row \(s): rows must stay within their sentence")
        }
        cache.reorder(sources)
    }
}
