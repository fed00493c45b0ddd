import CKernels

/// Everything that changes while decoding one batch: the self-attention cache, the
/// cross-attention keys and values (computed once per source, shared by all rows of a sentence)
/// and scratch buffers. The model itself stays immutable, so one model serves many states.
public final class DecoderState {
    /// Live decoding rows: `batchSize × rowsPerSentence` at the start (beams of a sentence are
    /// adjacent), fewer once `select` has dropped rows.
    public var rows: Int { rowSentence.count }
    public let rowsPerSentence: Int
    /// Sentence (index in the encoder batch) that each live row translates.
    private(set) var rowSentence: [Int]
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


    /// Positions decoded so far.
    public var length: Int { cache.length }

    /// The model that started this state; only it may decode with it.
    let model: ObjectIdentifier

    init(model: ObjectIdentifier, rowsPerSentence: Int, encoder: EncoderOutput, crossKeys: [[Float]], crossValues: [[Float]], cache: KVCache) {
        self.model = model
        self.rowsPerSentence = rowsPerSentence
        rowSentence = (0..<(encoder.batchSize * rowsPerSentence)).map { $0 / rowsPerSentence }
        sourceLengths = encoder.lengths
        sourcePaddedLength = encoder.paddedLength
        self.crossKeys = crossKeys
        self.crossValues = crossValues
        self.cache = cache
    }

    /// The live rows become `sources.count` rows, row r continuing from row `sources[r]`: beams
    /// taking over other beams (a row may be named twice), and finished rows leaving (rows not
    /// named are dropped, so later steps cost only the rows still decoding).
    public func select(_ sources: [Int]) throws(ModelError) {
        guard !sources.isEmpty else { throw .stateMismatch("select needs at least one row") }
        guard sources.count <= cache.rows else {
            throw .stateMismatch("select asks for \(sources.count) rows, the state was started with \(cache.rows)")
        }
        for s in sources where !(0..<rows).contains(s) {
            throw .stateMismatch("select names row \(s), the state has \(rows)")
        }
        cache.select(sources)
        rowSentence = sources.map { rowSentence[$0] }
    }
}
