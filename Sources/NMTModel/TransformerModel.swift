import CKernels
import NMTFormat

/// An encoder-decoder Transformer with immutable weights (memory-mapped from the model file).
/// `encode` runs the encoder over a batch; `startDecoding` prepares a `DecoderState`;
/// `decode` appends tokens to it and returns logits. Searches drive it through `StepModel`.
///
/// The model owns the threads its products and attention run on (`threads`): two models with
/// different thread counts work side by side in one process.
public final class TransformerModel: @unchecked Sendable {
    public let config: ModelConfig
    /// Threads a call may use, the calling thread included.
    public var threads: Int { pool.count }
    /// The cores this process may run on (CPU affinity, cgroup quota): the default thread count.
    public static var availableCores: Int { ThreadPool.defaultCount }
    private let pool: ThreadPool
    /// The compute type asked for when loading (see ComputeType).
    public let computeType: ComputeType
    private let weights: WeightStore  // keeps the mapped and converted weights alive
    private let sourceEmbedding: MatrixWeights  // [sourceVocab, dModel]
    private let targetEmbedding: MatrixWeights  // [targetVocab, dModel]
    private let outputProjection: Linear               // [targetVocab, dModel], bias: the logits bias
    private let positions: PositionalEncoding
    private let encoderLayers: [EncoderLayer]
    private let decoderLayers: [DecoderLayer]
    private let encoderNorm: LayerNorm?
    private let decoderNorm: LayerNorm?
    /// Scratch and cache buffers of finished calls, for the next ones (per replica).
    private let recycler = BufferRecycler()

    /// threads: nil for every core this process may use. computeType: `.auto` computes with each
    /// matrix as the file stores it; `.f32` and `.i8` convert the others when the model loads.
    public init(file: ModelFile, threads: Int? = nil, computeType: ComputeType = .auto) {
        pool = ThreadPool(threads: threads ?? ThreadPool.defaultCount)
        self.computeType = computeType
        let c = file.config
        config = c
        let names = file.weights
        let weights = WeightStore(file: file, computeType: computeType)
        self.weights = weights
        sourceEmbedding = weights.matrix(names.sourceEmbedding, inProducts: false)
        targetEmbedding = weights.matrix(names.targetEmbedding, inProducts: names.outputProjection == nil)
        outputProjection = Linear(
            weight: names.outputProjection.map { weights.matrix($0) } ?? targetEmbedding,
            bias: names.logitsBias.map { weights.vector($0) },
            outputSize: c.targetVocabSize, inputSize: c.dModel)
        positions = PositionalEncoding(dModel: c.dModel, layout: c.positionLayout, tabulated: min(c.maxPositions, 256))
        encoderLayers = names.encoderLayers.map { EncoderLayer($0, weights: weights, config: c) }
        decoderLayers = names.decoderLayers.map { DecoderLayer($0, weights: weights, config: c) }
        encoderNorm = names.encoderNorm.map { LayerNorm($0, weights: weights) }
        decoderNorm = names.decoderNorm.map { LayerNorm($0, weights: weights) }
    }

    /// The same model on a pool of its own with `threads` threads: it shares every weight (no
    /// copy, no second conversion), so several replicas translate different batches at the same
    /// time, each on fewer threads (CTranslate2's `inter_threads`). A replica computes exactly
    /// what this model does; a decoder state belongs to the replica that started it.
    public func replica(threads: Int) -> TransformerModel {
        TransformerModel(sharing: self, pool: ThreadPool(threads: threads))
    }

    private init(sharing other: TransformerModel, pool: ThreadPool) {
        self.pool = pool
        config = other.config
        computeType = other.computeType
        weights = other.weights
        sourceEmbedding = other.sourceEmbedding
        targetEmbedding = other.targetEmbedding
        outputProjection = other.outputProjection
        positions = other.positions
        encoderLayers = other.encoderLayers
        decoderLayers = other.decoderLayers
        encoderNorm = other.encoderNorm
        decoderNorm = other.decoderNorm
    }

    /// Frees the decoding buffers this model keeps for its next calls (see `DecodingBuffers`);
    /// the next call allocates them again, with their page faults. Calls running meanwhile are not
    /// affected.
    public func releaseKeptBuffers() {
        recycler.releaseSpares()
    }

    // MARK: Encoder

    /// Encodes a batch of source id sequences (each ending with `</s>`), of any lengths.
    /// recordAttention: keep the self-attention weights of every layer (`selfAttention(sentence:)`).
    public func encode(_ batch: [[Int32]], recordAttention: Bool = false) throws(ModelError) -> EncoderOutput {
        guard !batch.isEmpty else { throw .emptyBatch }
        let d = config.dModel
        let lengths = batch.map(\.count)
        for (i, sequence) in batch.enumerated() {
            guard !sequence.isEmpty else { throw .emptySequence(index: i) }
            guard sequence.count <= config.maxPositions else {
                throw .sequenceTooLong(length: sequence.count, maxPositions: config.maxPositions)
            }
            for token in sequence where !(0..<Int32(config.sourceVocabSize)).contains(token) {
                throw .tokenOutOfRange(token: token, vocabularySize: config.sourceVocabSize)
            }
        }
        // The sequences back to back, without padding: every product works on real positions only.
        let S = lengths.max()!, tokens = lengths.reduce(0, +), heads = config.encoderHeads
        var x = [Float](repeating: 0, count: tokens * d)  // [tokens, d]
        var attention: [[Float]]? = recordAttention ? [] : nil     // per layer [batch, heads, S, S]
        x.withUnsafeMutableBufferPointer { x in
            let x = x.baseAddress!
            let positionTable = ScratchBuffer(S * d)  // [S, d]
            positions.fill(from: 0, count: S, into: positionTable.pointer)
            var row = 0
            for sequence in batch {
                for (t, token) in sequence.enumerated() {
                    embed(token, table: sourceEmbedding, position: positionTable.pointer + t * d, into: x + (row + t) * d)
                }
                row += sequence.count
            }
            let buffers = recycler.take()
            defer { recycler.give(buffers) }
            for layer in encoderLayers {
                var weights = [Float](repeating: 0, count: recordAttention ? batch.count * heads * S * S : 0)
                weights.withUnsafeMutableBufferPointer { weights in
                    layer(x, lengths: lengths, workspace: buffers.workspace,
                          attention: recordAttention ? weights.baseAddress : nil, on: pool)
                }
                attention?.append(weights)
            }
            encoderNorm?(x, rows: tokens, into: x)
        }
        return EncoderOutput(lengths: lengths, packedStates: x, stateSize: d, selfAttention: attention, heads: heads)
    }

    // MARK: Decoder

    /// Prepares decoding of `rowsPerSentence` rows (beams) per source sentence, for at most
    /// `maxLength` target positions. Cross-attention keys and values are computed here, once.
    /// maxRowsPerSentence: the rows a sentence may grow to by `select` (a beam search starts with
    /// one row per sentence and expands after the first step); default rowsPerSentence.
    /// recordAttention: keep every step's attention weights (`DecoderState.attention(row:)`).
    public func startDecoding(_ encoder: EncoderOutput, rowsPerSentence: Int, maxRowsPerSentence: Int? = nil,
                              maxLength: Int, recordAttention: Bool = false) throws(ModelError) -> DecoderState {
        let maxRowsPerSentence = maxRowsPerSentence ?? rowsPerSentence
        guard rowsPerSentence >= 1, maxRowsPerSentence >= rowsPerSentence else {
            throw .stateMismatch("rows per sentence must be at least 1 and at most maxRowsPerSentence")
        }
        guard maxLength >= 1, maxLength <= config.maxPositions else {
            throw .sequenceTooLong(length: maxLength, maxPositions: config.maxPositions)
        }
        let heads = config.decoderHeads, headDim = config.dModel / heads
        let buffers = recycler.take()
        let memory = decoderLayers.enumerated().map { l, layer in
            layer.crossAttention.memory(of: encoder, in: buffers.crossAttention(layer: l), projected: buffers.projected,
                                        on: pool)
        }
        let cache = buffers.keyValueCache(layers: config.decoderLayers, rows: encoder.batchSize * maxRowsPerSentence,
                                          liveRows: encoder.batchSize * rowsPerSentence, heads: heads, headDim: headDim,
                                          initialCapacity: min(maxLength, 64), maxCapacity: maxLength)
        let history = recordAttention
            ? AttentionHistory(layers: config.decoderLayers, heads: heads, sourcePaddedLength: encoder.paddedLength)
            : nil
        return DecoderState(model: ObjectIdentifier(self), rowsPerSentence: rowsPerSentence, encoder: encoder,
                            memory: memory, cache: cache, attentionHistory: history, buffers: buffers,
                            recycler: recycler)
    }

    /// Appends `steps` tokens to every row (tokens: [rows, steps]) and returns the logits of every
    /// new position, [rows, steps, targetVocab], with their log-softmax normalizers; valid until
    /// the next call on this state. normalizers false: the normalizers are NaN, and the pass over
    /// the logits that computes them (an exponential per logit) is skipped.
    public func decode(_ state: DecoderState, tokens: [Int32], steps: Int,
                       normalizers computeNormalizers: Bool = true) throws(ModelError) -> Logits {
        guard state.model == ObjectIdentifier(self) else {
            throw .stateMismatch("the decoder state was started by another model")
        }
        let rows = state.rows
        guard steps >= 1, tokens.count == rows * steps else {
            throw .stateMismatch("decode got \(tokens.count) tokens for \(rows) rows × \(steps) steps")
        }
        for token in tokens where !(0..<Int32(config.targetVocabSize)).contains(token) {
            throw .tokenOutOfRange(token: token, vocabularySize: config.targetVocabSize)
        }
        let p0 = state.length
        try state.cache.reserve(p0 + steps)
        let d = config.dModel, n = rows * steps, V = config.targetVocabSize
        let x = state.buffers.x.reserve(n * d)
        let positionTable = state.buffers.positions.reserve(steps * d)  // [steps, d]
        positions.fill(from: p0, count: steps, into: positionTable)
        for r in 0..<rows {
            for t in 0..<steps {
                embed(tokens[r * steps + t], table: targetEmbedding, position: positionTable + t * d,
                      into: x + (r * steps + t) * d)
            }
        }
        if let history = state.attentionHistory {
            // Per layer [rows, heads, steps, keys] and [rows, heads, steps, S], zero where not visible.
            let heads = config.decoderHeads, S = state.sourcePaddedLength
            var decoderSelf: [[Float]] = [], cross: [[Float]] = []
            for (l, layer) in decoderLayers.enumerated() {
                var s = [Float](repeating: 0, count: n * heads * (p0 + steps))
                var c = [Float](repeating: 0, count: n * heads * S)
                s.withUnsafeMutableBufferPointer { s in
                    c.withUnsafeMutableBufferPointer { c in
                        layer(x, rows: rows, steps: steps, layer: l, state: state,
                              attention: (s.baseAddress!, c.baseAddress!), on: pool)
                    }
                }
                decoderSelf.append(s)
                cross.append(c)
            }
            history.record(rows: rows, steps: steps, first: p0, decoderSelf: decoderSelf, cross: cross)
        } else {
            for (l, layer) in decoderLayers.enumerated() {
                layer(x, rows: rows, steps: steps, layer: l, state: state, attention: nil, on: pool)
            }
        }
        decoderNorm?(x, rows: n, into: x)
        state.cache.length = p0 + steps

        // Output projection: logits[n, V] = x · Eᵀ (+ bias), and log Σ exp of each row, combined
        // from statistics of 16-logit blocks gathered while each block was in cache.
        // Rows padded to whole blocks of 16 logits, one cache line each: the panel kernel's
        // 16-float stores and the statistics' loads of them then never split across two lines
        // (8,001 logits a row unpadded: the output projection ran at ~90 GMAC/s in a beam-4 run,
        // padded ~108).
        let blocks = outputProjection.blocks, ldl = blocks * Logits.blockSize
        let logits = state.buffers.logits.reserve(n * ldl)
        let blockMax = state.buffers.blockMax.reserve(n * blocks)
        let blockSum = computeNormalizers ? state.buffers.blockSum.reserve(n * blocks) : nil
        outputProjection(x, rows: n, into: logits, ldy: ldl, blockMax: blockMax, blockSum: blockSum, on: pool)
        let normalizers = state.buffers.normalizers.reserve(n)
        for i in 0..<n {
            normalizers[i] = blockSum.map { nmt_log_sum_exp_of_blocks(blockMax + i * blocks, $0 + i * blocks, blocks) } ?? .nan
        }
        return Logits(values: UnsafeBufferPointer(start: logits, count: n * ldl),
                      logNormalizers: UnsafeBufferPointer(start: normalizers, count: n), vocabularySize: V,
                      blockMaxima: UnsafeBufferPointer(start: blockMax, count: n * blocks), rowStride: ldl)
    }

    // MARK: Helpers

    /// Scaled token embedding plus position vector.
    @inline(__always)
    private func embed(_ token: Int32, table: MatrixWeights, position: UnsafePointer<Float>,
                       into out: UnsafeMutablePointer<Float>) {
        let d = config.dModel
        WeightStore.row(Int(token), of: table, columns: d, into: out)
        let scale = config.embeddingScale
        for i in 0..<d { out[i] = out[i] * scale + position[i] }
    }
}
