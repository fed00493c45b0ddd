import CKernels
import NMTFormat

/// Multi-head attention, the whole computation for its three uses (see `KeyValueSource`):
///
///     Q = x·W_qᵀ + b_q,  K = kv·W_kᵀ + b_k,  V = kv·W_vᵀ + b_v          [rows, d]
///     head h:  softmax(Q_h·K_hᵀ / √headDim + mask) · V_h                   [rows, headDim]
///     out = concat(heads)·W_oᵀ + b_o                                      [rows, d]
///
/// A head is a block of `headDim` columns of Q, K, V and of the context, so splitting the heads
/// and merging them back is only addressing: job (sequence, head) reads and writes its columns.
/// The layer holds weights only; a decoding run's keys and values live in the caller's cache.
/// `ReferenceAttention` is the same formula written loop by loop, the oracle of the tests.
struct MultiHeadAttention: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let heads: Int
    let headDim: Int
    var scale: Float { 1 / Float(headDim).squareRoot() }

    init(_ names: WeightTable.Attention, weights: WeightStore, heads: Int) {
        self.init(query: Linear(names.query, weights: weights), key: Linear(names.key, weights: weights),
                  value: Linear(names.value, weights: weights), output: Linear(names.output, weights: weights),
                  heads: heads)
    }

    init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int) {
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.heads = heads
        headDim = query.outputSize / heads
    }

    /// input: [sequences, queries, d] → out: [sequences, queries, d] (out must not be input); with
    /// a `.packed` mask, [Σ lengths, d], and `queries` is the longest sequence.
    ///
    /// probabilities: nil, or `[sequences, heads, queries, ldp]` that receives each query's
    /// softmax weights over the keys it saw (the caller zeroes the rest).
    func callAsFunction(_ input: UnsafePointer<Float>, sequences: Int, queries: Int, keys source: KeyValueSource,
                        mask: AttentionMask, into out: UnsafeMutablePointer<Float>, workspace w: LayerWorkspace,
                        probabilities: UnsafeMutablePointer<Float>? = nil, ldp: Int = 0, on pool: ThreadPool) {
        let d = heads * headDim
        let rows: Int
        if case .packed(let lengths) = mask { rows = lengths.reduce(0, +) } else { rows = sequences * queries }
        let q = w.q.reserve(rows * d), context = w.context.reserve(rows * d)
        // 1. Projections: Q always; K and V too unless they come from the encoder memory.
        switch source {
        case .memory:
            query(input, rows: rows, into: q, on: pool)
        case .cache(let cache, let layer) where queries == 1:
            // A decoding step's keys and values go straight to position `length` of each row's
            // cache slots (rows `rowStride` apart), with no copy.
            let at = cache.offset(row: 0, position: cache.length)
            Linear.apply(query, key, value, to: input, rows: rows, into: q, cache.keys[layer] + at,
                         cache.values[layer] + at, ldbc: cache.rowStride, on: pool)
        case .ownInput, .cache:
            Linear.apply(query, key, value, to: input, rows: rows, into: q, w.k.reserve(rows * d),
                         w.v.reserve(rows * d), on: pool)
        }
        // 2. One job per (sequence, head), with the keys its mask lets it see.
        w.jobs.removeAll(keepingCapacity: true)
        func probabilitiesOf(_ s: Int, _ h: Int) -> UnsafeMutablePointer<Float>? {
            probabilities.map { $0 + (s * heads + h) * queries * ldp }
        }
        switch (source, mask) {
        case (.ownInput, .packed(let lengths)):
            var first = 0  // sequence s's first row
            for s in 0..<sequences {
                for h in 0..<heads {
                    let o = first * d + h * headDim
                    w.jobs.append(job(q: q + o, queries: lengths[s], keys: w.k.pointer + o, values: w.v.pointer + o,
                                      stride: d, keyCount: lengths[s], firstVisible: lengths[s], out: context + o,
                                      probabilities: probabilitiesOf(s, h), ldp: ldp))
                }
                first += lengths[s]
            }
        case (.ownInput, .causal):
            for s in 0..<sequences {
                for h in 0..<heads {
                    let o = s * queries * d + h * headDim
                    w.jobs.append(job(q: q + o, queries: queries, keys: w.k.pointer + o, values: w.v.pointer + o,
                                      stride: d, keyCount: queries, firstVisible: 1, out: context + o,
                                      probabilities: probabilitiesOf(s, h), ldp: ldp))
                }
            }
        case (.cache(let cache, let layer), .causal):
            if queries > 1 {
                appendToCache(cache, layer: layer, rows: sequences, steps: queries, k: w.k.pointer, v: w.v.pointer)
            }
            let p0 = cache.length, keys = cache.keys[layer], values = cache.values[layer]
            for s in 0..<sequences {
                for h in 0..<heads {
                    // Position j of row s's history is in the slots of row origins[j] (see KVCache).
                    let o = s * queries * d + h * headDim
                    var j = job(q: q + o, queries: queries, keys: keys + h * headDim, values: values + h * headDim,
                                stride: cache.positionStride, keyCount: p0 + queries, firstVisible: p0 + 1,
                                out: context + o, probabilities: probabilitiesOf(s, h), ldp: ldp)
                    j.origins = cache.origins(row: s)
                    j.row_stride = cache.rowStride
                    w.jobs.append(j)
                }
            }
        case (.memory(let memory, let sentenceOfRow), .padding(let lengths)):
            let S = memory.paddedLength
            // Adjacent rows of one sentence (a beam search's beams) read the same keys: one job
            // per head takes all their queries, which are adjacent too (row stride d), so the
            // keys are fetched once and stay in L1 for the next query. Recorded probabilities
            // are laid out per row, so rows stay apart when they are asked for.
            var s = 0
            while s < sequences {
                var end = s + 1
                while probabilities == nil, end < sequences, sentenceOfRow[end] == sentenceOfRow[s] { end += 1 }
                for h in 0..<heads {
                    let slot = (sentenceOfRow[s] * heads + h) * S * headDim
                    let o = s * queries * d + h * headDim
                    w.jobs.append(job(q: q + o, queries: (end - s) * queries, keys: memory.keys + slot,
                                      values: memory.values + slot, stride: headDim, keyCount: lengths[s],
                                      firstVisible: lengths[s], out: context + o, probabilities: probabilitiesOf(s, h),
                                      ldp: ldp))
                }
                s = end
            }
        default:
            preconditionFailure("attention over \(source) with mask \(mask) is not a Transformer use")
        }
        // 3. softmax(q·kᵀ · scale)·v of every job, each head writing its columns of the context.
        run(w.jobs, scores: w.scores, on: pool)
        // 4. The merged heads through the output projection.
        output(context, rows: rows, into: out, on: pool)
    }

    /// The encoder output as this layer's cross-attention memory: its [tokens, d] states projected
    /// to keys and values, each laid out as [batch, heads, S, headDim] (padding positions zero).
    /// buffers: where the keys and values go; projected: scratch.
    func memory(of encoder: EncoderOutput, in buffers: (keys: ScratchBuffer, values: ScratchBuffer),
                projected: ScratchBuffer, on pool: ThreadPool) -> CrossAttentionMemory {
        let d = heads * headDim, S = encoder.paddedLength, tokens = encoder.tokenCount
        let memory = CrossAttentionMemory(count: encoder.batchSize * S * d, paddedLength: S, in: buffers)
        let projected = projected.reserve(tokens * d)  // [tokens, d]
        for (linear, out) in [(key, memory.keys), (value, memory.values)] {
            encoder.packedStates.withUnsafeBufferPointer {
                linear($0.baseAddress!, rows: tokens, into: projected, on: pool)
            }
            var row = 0  // sentence b's first row of `projected`
            for (b, length) in encoder.lengths.enumerated() {
                for h in 0..<heads {
                    let slot = out + (b * heads + h) * S * headDim
                    for t in 0..<length {
                        (slot + t * headDim).update(from: projected + (row + t) * d + h * headDim, count: headDim)
                    }
                    (slot + length * headDim).update(repeating: 0, count: (S - length) * headDim)
                }
                row += length
            }
        }
        return memory
    }

    /// Writes the keys and values of `steps` new positions of each row (k, v: [rows, steps, d])
    /// into the row's own cache slots, at positions cache.length ..< cache.length + steps.
    private func appendToCache(_ cache: KVCache, layer: Int, rows: Int, steps: Int, k: UnsafePointer<Float>,
                               v: UnsafePointer<Float>) {
        let d = heads * headDim, p0 = cache.length
        let keys = cache.keys[layer], values = cache.values[layer]
        for r in 0..<rows {
            for t in 0..<steps {
                let slot = cache.offset(row: r, position: p0 + t), from = (r * steps + t) * d
                (keys + slot).update(from: k + from, count: d)
                (values + slot).update(from: v + from, count: d)
            }
        }
    }

    /// One head of one sequence (CKernels' `nmt_attention_job`): query i (row stride d) sees keys
    /// 0 ..< min(keyCount, firstVisible + i); key j at keys + j · stride, likewise its value.
    private func job(q: UnsafePointer<Float>, queries: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                     stride: Int, keyCount: Int, firstVisible: Int, out: UnsafeMutablePointer<Float>,
                     probabilities: UnsafeMutablePointer<Float>?, ldp: Int) -> nmt_attention_job {
        let d = heads * headDim
        return nmt_attention_job(q: q, out: out, keys: keys, values: values, origins: nil, row_stride: 0,
                                 stride: stride, queries: queries, ldq: d, ldo: d, key_count: keyCount,
                                 first_visible: firstVisible, probabilities: probabilities, ldp: ldp)
    }

    /// Runs the jobs over threads when the work is worth it. Sequences are short (tens to
    /// hundreds of keys), so fused dot products and scaled additions per query (`nmt_attend`)
    /// beat GEMM calls here.
    private func run(_ jobs: [nmt_attention_job], scores: ScratchBuffer, on pool: ThreadPool) {
        var work = 0, longest = 1
        for job in jobs {
            work += job.queries * job.key_count * headDim
            longest = max(longest, job.key_count)
        }
        // A key costs a dot product, a softmax term and a scaled addition, with a reduction per
        // key: about four times a product's multiply-add per element.
        let threads = pool.forWork(4 * work)
        let scratch = scores.reserve(threads * longest)
        jobs.withUnsafeBufferPointer {
            nmt_attention(pool.pool, $0.baseAddress, $0.count, headDim, scale, scratch, longest, threads)
        }
    }
}
