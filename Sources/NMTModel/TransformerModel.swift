import CKernels
import NMTFormat

/// An encoder-decoder Transformer with immutable weights (memory-mapped from the model file).
/// `encode` runs the encoder over a padded batch; `startDecoding` prepares a `DecoderState`;
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
        sourceEmbedding = weights.matrix(names.sourceEmbedding)
        targetEmbedding = weights.matrix(names.targetEmbedding)
        outputProjection = Linear(
            weight: names.outputProjection.map { weights.matrix($0) } ?? targetEmbedding,
            bias: names.logitsBias.map { weights.vector($0) },
            outputSize: c.targetVocabSize, inputSize: c.dModel)
        positions = PositionalEncoding(dModel: c.dModel, layout: c.positionLayout, tabulated: min(c.maxPositions, 256))
        encoderLayers = names.encoderLayers.map { EncoderLayer($0, weights: weights, heads: c.encoderHeads) }
        decoderLayers = names.decoderLayers.map { DecoderLayer($0, weights: weights, heads: c.decoderHeads) }
        encoderNorm = names.encoderNorm.map { LayerNorm($0, weights: weights) }
        decoderNorm = names.decoderNorm.map { LayerNorm($0, weights: weights) }
    }

    // MARK: Encoder

    /// Encodes a batch of source id sequences (each ending with `</s>`), padded to the longest.
    public func encode(_ batch: [[Int32]]) throws(ModelError) -> EncoderOutput {
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
        let S = lengths.max()!
        let rows = batch.count * S
        var x = [Float](repeating: 0, count: rows * d)  // [batch, S, d]
        x.withUnsafeMutableBufferPointer { x in
            let positionTable = ScratchBuffer(S * d)  // [S, d]
            positions.fill(from: 0, count: S, into: positionTable.pointer)
            for (b, sequence) in batch.enumerated() {
                for (t, token) in sequence.enumerated() {
                    embed(token, table: sourceEmbedding, position: positionTable.pointer + t * d,
                          into: x.baseAddress! + (b * S + t) * d)
                }
            }
            let scratch = (normed: ScratchBuffer(rows * d), q: ScratchBuffer(rows * d), k: ScratchBuffer(rows * d),
                           v: ScratchBuffer(rows * d), context: ScratchBuffer(rows * d),
                           projected: ScratchBuffer(rows * d), scores: ScratchBuffer(S),
                           hidden: ScratchBuffer(rows * config.encoderFFNDim))
            var jobs: [nmt_attention_job] = []  // [batch × heads]
            let x = x.baseAddress!
            for layer in encoderLayers {
                // Self-attention block.
                let input = preNorm(layer.selfAttentionNorm, x, rows: rows, scratch: scratch.normed)
                let attention = layer.selfAttention
                let (q, k, v, context) = (scratch.q.pointer, scratch.k.pointer, scratch.v.pointer, scratch.context.pointer)
                Linear.apply(attention.query, attention.key, attention.value, to: input, rows: rows, into: q, k, v, on: pool)
                let heads = attention.heads, headDim = attention.headDim
                jobs.removeAll(keepingCapacity: true)
                for b in 0..<batch.count {
                    for h in 0..<heads {
                        let o = b * S * d + h * headDim
                        jobs.append(MultiHeadAttention.job(q: q + o, ldq: d, queries: lengths[b], k: k + o, v: v + o,
                                                           ldk: d, keyCount: lengths[b], causalOffset: nil,
                                                           out: context + o, ldo: d))
                    }
                }
                MultiHeadAttention.run(jobs, headDim: headDim, scale: attention.scale, scores: scratch.scores, on: pool)
                attention.output(context, rows: rows, into: scratch.projected.pointer, on: pool)
                residual(x, scratch.projected.pointer, rows: rows, norm: layer.selfAttentionNorm)
                // Feed-forward block.
                let ffnInput = preNorm(layer.feedForwardNorm, x, rows: rows, scratch: scratch.normed)
                layer.feedForward(ffnInput, rows: rows, hidden: scratch.hidden.pointer, into: scratch.projected.pointer, on: pool)
                residual(x, scratch.projected.pointer, rows: rows, norm: layer.feedForwardNorm)
            }
            encoderNorm?(x, rows: rows, into: x)
        }
        return EncoderOutput(batchSize: batch.count, paddedLength: S, lengths: lengths, states: x)
    }

    // MARK: Decoder

    /// Prepares decoding of `rowsPerSentence` rows (beams) per source sentence, for at most
    /// `maxLength` target positions. Cross-attention keys and values are computed here, once.
    public func startDecoding(_ encoder: EncoderOutput, rowsPerSentence: Int, maxLength: Int) throws(ModelError) -> DecoderState {
        guard rowsPerSentence >= 1 else { throw .stateMismatch("rowsPerSentence must be at least 1") }
        guard maxLength >= 1, maxLength <= config.maxPositions else {
            throw .sequenceTooLong(length: maxLength, maxPositions: config.maxPositions)
        }
        let d = config.dModel
        let heads = config.decoderHeads, headDim = d / heads
        let S = encoder.paddedLength, rows = encoder.batchSize * S
        var crossKeys: [[Float]] = [], crossValues: [[Float]] = []
        let projected = ScratchBuffer(rows * d)
        encoder.states.withUnsafeBufferPointer { states in
            for layer in decoderLayers {
                // [batch, S, d] → [batch, heads, S, headDim]
                func project(_ linear: Linear) -> [Float] {
                    linear(states.baseAddress!, rows: rows, into: projected.pointer, on: pool)
                    var out = [Float](repeating: 0, count: rows * d)
                    for b in 0..<encoder.batchSize {
                        for t in 0..<S {
                            for h in 0..<heads {
                                let to = ((b * heads + h) * S + t) * headDim
                                let from = (b * S + t) * d + h * headDim
                                for i in 0..<headDim { out[to + i] = projected.pointer[from + i] }
                            }
                        }
                    }
                    return out
                }
                crossKeys.append(project(layer.crossAttention.key))
                crossValues.append(project(layer.crossAttention.value))
            }
        }
        let cache = KVCache(layers: config.decoderLayers, rows: encoder.batchSize * rowsPerSentence, heads: heads,
                            headDim: headDim, initialCapacity: min(maxLength, 64), maxCapacity: maxLength)
        return DecoderState(model: ObjectIdentifier(self), rowsPerSentence: rowsPerSentence, encoder: encoder,
                            crossKeys: crossKeys,
                            crossValues: crossValues, cache: cache)
    }

    /// Appends `steps` tokens to every row (tokens: [rows, steps]) and returns the logits of every
    /// new position, [rows, steps, targetVocab], with their log-softmax normalizers; valid until
    /// the next call on this state.
    public func decode(_ state: DecoderState, tokens: [Int32], steps: Int) throws(ModelError) -> Logits {
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
        let x = state.x.reserve(n * d)
        let positionTable = state.positions.reserve(steps * d)  // [steps, d]
        positions.fill(from: p0, count: steps, into: positionTable)
        for r in 0..<rows {
            for t in 0..<steps {
                embed(tokens[r * steps + t], table: targetEmbedding, position: positionTable + t * d,
                      into: x + (r * steps + t) * d)
            }
        }
        let (q, k, v) = (state.q.reserve(n * d), state.k.reserve(n * d), state.v.reserve(n * d))
        let context = state.context.reserve(n * d), projected = state.projected.reserve(n * d)
        state.normed.reserve(n * d)
        let cache = state.cache
        for (l, layer) in decoderLayers.enumerated() {
            // Masked self-attention over the cache.
            let attention = layer.selfAttention
            let heads = attention.heads, headDim = attention.headDim
            var input = preNorm(layer.selfAttentionNorm, x, rows: n, scratch: state.normed)
            Linear.apply(attention.query, attention.key, attention.value, to: input, rows: n, into: q, k, v, on: pool)
            let keys = cache.keys[l], values = cache.values[l]
            state.attentionJobs.removeAll(keepingCapacity: true)
            for r in 0..<rows {
                for h in 0..<heads {
                    let slot = cache.offset(row: r, head: h)
                    for t in 0..<steps {
                        let from = (r * steps + t) * d + h * headDim
                        (keys + slot + (p0 + t) * headDim).update(from: k + from, count: headDim)
                        (values + slot + (p0 + t) * headDim).update(from: v + from, count: headDim)
                    }
                    // Query t of the new steps sees positions 0...p0 + t, wherever they are stored.
                    let o = r * steps * d + h * headDim
                    state.attentionJobs.append(MultiHeadAttention.cachedJob(
                        q: q + o, ldq: d, queries: steps, keys: keys, values: values, origins: cache.origins(row: r),
                        rowStride: cache.offset(row: 1, head: 0), headOffset: cache.offset(row: 0, head: h),
                        headDim: headDim, keyCount: p0 + steps, out: context + o, ldo: d))
                }
            }
            MultiHeadAttention.run(state.attentionJobs, headDim: headDim, scale: attention.scale, scores: state.scores, on: pool)
            attention.output(context, rows: n, into: projected, on: pool)
            residual(x, projected, rows: n, norm: layer.selfAttentionNorm)

            // Cross-attention over the encoder output of each row's sentence.
            let cross = layer.crossAttention
            input = preNorm(layer.crossAttentionNorm, x, rows: n, scratch: state.normed)
            cross.query(input, rows: n, into: q, on: pool)
            let S = state.sourcePaddedLength
            state.attentionJobs.removeAll(keepingCapacity: true)
            state.crossKeys[l].withUnsafeBufferPointer { crossKeys in
                state.crossValues[l].withUnsafeBufferPointer { crossValues in
                    for r in 0..<rows {
                        let sentence = state.rowSentence[r]
                        for h in 0..<heads {
                            let slot = (sentence * heads + h) * S * headDim
                            let o = r * steps * d + h * headDim
                            state.attentionJobs.append(MultiHeadAttention.job(
                                q: q + o, ldq: d, queries: steps, k: crossKeys.baseAddress! + slot,
                                v: crossValues.baseAddress! + slot, ldk: headDim, keyCount: state.sourceLengths[sentence],
                                causalOffset: nil, out: context + o, ldo: d))
                        }
                    }
                }
            }
            MultiHeadAttention.run(state.attentionJobs, headDim: headDim, scale: cross.scale, scores: state.scores, on: pool)
            cross.output(context, rows: n, into: projected, on: pool)
            residual(x, projected, rows: n, norm: layer.crossAttentionNorm)

            // Feed-forward.
            input = preNorm(layer.feedForwardNorm, x, rows: n, scratch: state.normed)
            layer.feedForward(input, rows: n, hidden: state.hidden.reserve(n * layer.feedForward.fc1.outputSize),
                              into: projected, on: pool)
            residual(x, projected, rows: n, norm: layer.feedForwardNorm)
        }
        decoderNorm?(x, rows: n, into: x)
        cache.length = p0 + steps

        // Output projection: logits[n, V] = x · Eᵀ (+ bias), and log Σ exp of each row, combined
        // from statistics of 16-logit blocks gathered while each block was in cache.
        let logits = state.logits.reserve(n * V)
        let blocks = outputProjection.blocks
        let blockMax = state.blockMax.reserve(n * blocks), blockSum = state.blockSum.reserve(n * blocks)
        outputProjection(x, rows: n, into: logits, blockMax: blockMax, blockSum: blockSum, on: pool)
        let normalizers = state.normalizers.reserve(n)
        for i in 0..<n {
            normalizers[i] = nmt_log_sum_exp_of_blocks(blockMax + i * blocks, blockSum + i * blocks, blocks)
        }
        return Logits(values: UnsafeBufferPointer(start: logits, count: n * V),
                      logNormalizers: UnsafeBufferPointer(start: normalizers, count: n), vocabularySize: V)
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

    /// The sublayer input: LN(x) for pre-LN models, x itself for post-LN.
    @inline(__always)
    private func preNorm(_ norm: LayerNorm, _ x: UnsafeMutablePointer<Float>, rows: Int, scratch: ScratchBuffer) -> UnsafeMutablePointer<Float> {
        guard config.normalizeBefore else { return x }
        let out = scratch.reserve(rows * config.dModel)
        norm(x, rows: rows, into: out)
        return out
    }

    /// x += sublayer output, then LN(x) for post-LN models.
    @inline(__always)
    private func residual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, rows: Int, norm: LayerNorm) {
        VectorMath.add(y, to: x, count: rows * config.dModel)
        if !config.normalizeBefore { norm(x, rows: rows, into: x) }
    }
}
