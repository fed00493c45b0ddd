/// Everything that changes while decoding one batch: the self-attention cache, the
/// cross-attention memory (computed once per source, shared by all rows of a sentence), scratch
/// buffers and, when asked for, the attention weights. The model itself stays immutable, so one
/// model serves many states.
public final class DecoderState {
    /// Live decoding rows: `batchSize × rowsPerSentence` at the start (beams of a sentence are
    /// adjacent), then as `select` makes them: fewer as rows finish, more when beams expand (up
    /// to the cache's rows).
    public var rows: Int { rowSentence.count }
    /// The rows each sentence started with (the searches start with 1: a beam search's first
    /// step has one row per sentence and expands after it). `select` may grow a sentence up to
    /// the cache's rows per sentence, the `maxRowsPerSentence` of `startDecoding`.
    public let rowsPerSentence: Int
    /// Sentence (index in the encoder batch) that each live row translates.
    private(set) var rowSentence: [Int]
    /// The source length of each live row's sentence: its cross-attention mask.
    private(set) var rowSourceLengths: [Int]
    let encoder: EncoderOutput
    var sourcePaddedLength: Int { encoder.paddedLength }
    /// Per decoder layer.
    let memory: [CrossAttentionMemory]
    let cache: KVCache
    /// Kept when attention weights were asked for.
    let attentionHistory: AttentionHistory?

    /// Scratch, sized for the largest step seen; the model's next state gets it (and the cache's
    /// buffers) back from `recycler`.
    let buffers: DecodingBuffers
    private let recycler: BufferRecycler

    /// Positions decoded so far.
    public var length: Int { cache.length }

    /// The model that started this state; only it may decode with it.
    let model: ObjectIdentifier

    init(model: ObjectIdentifier, rowsPerSentence: Int, encoder: EncoderOutput, memory: [CrossAttentionMemory],
         cache: KVCache, attentionHistory: AttentionHistory?, buffers: DecodingBuffers, recycler: BufferRecycler) {
        self.model = model
        self.buffers = buffers
        self.recycler = recycler
        self.rowsPerSentence = rowsPerSentence
        rowSentence = (0..<(encoder.batchSize * rowsPerSentence)).map { $0 / rowsPerSentence }
        rowSourceLengths = rowSentence.map { encoder.lengths[$0] }
        self.encoder = encoder
        self.memory = memory
        self.cache = cache
        self.attentionHistory = attentionHistory
    }

    deinit {
        recycler.give(buffers)
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
        attentionHistory?.select(sources)
        rowSentence = sources.map { rowSentence[$0] }
        rowSourceLengths = rowSentence.map { encoder.lengths[$0] }
    }

    /// The attention weights of live row `row`'s history so far (call it before `select` moves
    /// the rows); nil unless decoding started with `recordAttention`.
    public func attention(row: Int) -> AttentionWeights? {
        guard let history = attentionHistory, (0..<rows).contains(row) else { return nil }
        let sentence = rowSentence[row], n = encoder.lengths[sentence]
        // Empty when the encoder ran without recording.
        let encoderSelf = encoder.selfAttention(sentence: sentence)
            ?? AttentionMatrices(layers: 0, heads: 0, rows: n, columns: n, values: [])
        return history.weights(row: row, sourceLength: n, encoderSelf: encoderSelf)
    }
}
