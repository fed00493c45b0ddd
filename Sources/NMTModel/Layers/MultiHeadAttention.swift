import CKernels
import NMTFormat

/// Multi-head attention: softmax(Q·Kᵀ / √headDim)·V for each head, then the output projection.
/// The layer holds weights only; keys and values of a decoding run live in the caller's cache.
struct MultiHeadAttention: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let heads: Int
    let headDim: Int
    var scale: Float { 1 / Float(headDim).squareRoot() }

    init(_ names: WeightTable.Attention, weights: WeightStore, heads: Int) {
        query = Linear(names.query, weights: weights)
        key = Linear(names.key, weights: weights)
        value = Linear(names.value, weights: weights)
        output = Linear(names.output, weights: weights)
        self.heads = heads
        headDim = query.outputSize / heads
    }

    /// One head of one sequence (CKernels' `nmt_attention_job`), with keys visible as a prefix:
    /// query i sees keys 0..<min(keyCount, causalOffset + i + 1) when `causalOffset` is set,
    /// 0..<keyCount otherwise (the keys past keyCount are padding).
    ///
    /// q: [queries, headDim] (row stride ldq), k and v: [keys, headDim] (row stride ldk),
    /// out: [queries, headDim] (stride ldo).
    static func job(q: UnsafePointer<Float>, ldq: Int, queries: Int, k: UnsafePointer<Float>,
                    v: UnsafePointer<Float>, ldk: Int, keyCount: Int, causalOffset: Int?,
                    out: UnsafeMutablePointer<Float>, ldo: Int) -> nmt_attention_job {
        nmt_attention_job(q: q, out: out, keys: k, values: v, origins: nil, row_stride: 0, stride: ldk,
                          queries: queries, ldq: ldq, ldo: ldo, key_count: keyCount,
                          first_visible: causalOffset.map { $0 + 1 } ?? keyCount)
    }

    /// One head of one row of a decoder's self-attention cache, in which position j of the row's
    /// history sits in the slot of row origins[j] (see `KVCache`): the key of position j is at
    /// keys + origins[j] · rowStride + headOffset + j · headDim, and likewise its value. Query i
    /// (of `queries` new positions, the first at position keyCount − queries) sees positions up to its own.
    static func cachedJob(q: UnsafePointer<Float>, ldq: Int, queries: Int, keys: UnsafePointer<Float>,
                          values: UnsafePointer<Float>, origins: UnsafePointer<Int32>, rowStride: Int,
                          headOffset: Int, headDim: Int, keyCount: Int, out: UnsafeMutablePointer<Float>,
                          ldo: Int) -> nmt_attention_job {
        nmt_attention_job(q: q, out: out, keys: keys + headOffset, values: values + headOffset, origins: origins,
                          row_stride: rowStride, stride: headDim, queries: queries, ldq: ldq, ldo: ldo,
                          key_count: keyCount, first_visible: keyCount - queries + 1)
    }

    /// softmax(q·kᵀ · scale)·v for every job, over threads when the work is worth it. Sequences
    /// are short (tens to hundreds of keys), so fused dot products and scaled additions per query
    /// (`nmt_attend`) beat GEMM calls here. scores: scratch, grown as needed.
    static func run(_ jobs: [nmt_attention_job], headDim: Int, scale: Float, scores: ScratchBuffer, on pool: ThreadPool) {
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
