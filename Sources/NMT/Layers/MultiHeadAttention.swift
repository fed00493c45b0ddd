import CKernels

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

    init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int) {
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.heads = heads
        headDim = query.outputSize / heads
    }

    /// Attention of one head of one sequence, with keys visible as a prefix:
    /// query i sees keys 0..<min(keyCount, causalOffset + i + 1) when `causalOffset` is set,
    /// 0..<keyCount otherwise (the keys past keyCount are padding).
    ///
    /// q: [queries, headDim] (row stride ldq), k and v: [keys, headDim] (row stride ldk),
    /// out: [queries, headDim] (stride ldo), scores: scratch of [keyCount].
    static func attendHead(q: UnsafePointer<Float>, ldq: Int, queries: Int,
                           k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldk: Int,
                           keyCount: Int, causalOffset: Int?, headDim: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>,
                           out: UnsafeMutablePointer<Float>, ldo: Int) {
        for i in 0..<queries {
            let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
            attendOne(q: q + i * ldq, k: k, v: v, ldk: ldk, keyCount: visible, headDim: headDim, scale: scale,
                      scores: scores, out: out + i * ldo)
        }
    }

    /// One query against `keyCount` keys (rows ldk apart, values likewise): softmax(q·kᵀ · scale)·v
    /// into out[headDim]; scores is scratch of [keyCount]. Sequences are short (tens to hundreds of
    /// keys), so a fused loop of dot products and scaled additions beats a GEMM call here.
    @inline(__always)
    static func attendOne(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldk: Int,
                          keyCount: Int, headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                          out: UnsafeMutablePointer<Float>) {
        nmt_attend(q, k, v, ldk, nil, 0, keyCount, headDim, scale, scores, out)
    }

    /// One query against a decoder's self-attention cache, in which position j of this row's
    /// history sits in the slot of row origins[j] (see `KVCache`): the key of position j is at
    /// keys + origins[j] · rowStride + headOffset + j · headDim, and likewise its value.
    @inline(__always)
    static func attendCached(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                             origins: UnsafePointer<Int32>, rowStride: Int, headOffset: Int, keyCount: Int,
                             headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                             out: UnsafeMutablePointer<Float>) {
        nmt_attend(q, keys + headOffset, values + headOffset, headDim, origins, rowStride, keyCount, headDim, scale,
                   scores, out)
    }
}
