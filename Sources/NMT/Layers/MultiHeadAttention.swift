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
    /// q: [queries, headDim] (row stride ldq), k and v: [keys, headDim] (strides ldk, ldv),
    /// out: [queries, headDim] (stride ldo), scores: scratch of [keyCount].
    static func attendHead(q: UnsafePointer<Float>, ldq: Int, queries: Int,
                           k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
                           keyCount: Int, causalOffset: Int?, headDim: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>,
                           out: UnsafeMutablePointer<Float>, ldo: Int) {
        for i in 0..<queries {
            let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
            attendOne(q: q + i * ldq, k: k, ldk: ldk, v: v, ldv: ldv, keyCount: visible, headDim: headDim,
                      scale: scale, scores: scores, out: out + i * ldo)
        }
    }

    /// One query against `keyCount` keys (rows ldk and ldv apart): softmax(q·kᵀ · scale)·v into
    /// out[headDim]; scores is scratch of [keyCount]. Sequences are short (tens to hundreds of
    /// keys), so dot products and scaled additions over headDim beat a GEMM call here.
    @inline(__always)
    static func attendOne(q: UnsafePointer<Float>, k: UnsafePointer<Float>, ldk: Int,
                          v: UnsafePointer<Float>, ldv: Int, keyCount: Int, headDim: Int, scale: Float,
                          scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        attend(q: q, keyCount: keyCount, headDim: headDim, scale: scale, scores: scores, out: out,
               key: { k + $0 * ldk }, value: { v + $0 * ldv })
    }

    /// One query against a decoder's self-attention cache, in which position j of this row's
    /// history sits in the slot of row origins[j] (see `KVCache`): the key of position j is at
    /// keys + origins[j] · rowStride + headOffset + j · headDim, and likewise its value.
    @inline(__always)
    static func attendCached(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                             origins: UnsafePointer<Int32>, rowStride: Int, headOffset: Int, keyCount: Int,
                             headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                             out: UnsafeMutablePointer<Float>) {
        @inline(__always) func slot(_ j: Int) -> Int { Int(origins[j]) * rowStride + headOffset + j * headDim }
        attend(q: q, keyCount: keyCount, headDim: headDim, scale: scale, scores: scores, out: out,
               key: { keys + slot($0) }, value: { values + slot($0) })
    }

    /// softmax(q·kᵀ · scale)·v over keys 0..<keyCount, wherever `key(j)` and `value(j)` find them.
    @inline(__always)
    private static func attend(q: UnsafePointer<Float>, keyCount: Int, headDim: Int, scale: Float,
                               scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                               key: (Int) -> UnsafePointer<Float>, value: (Int) -> UnsafePointer<Float>) {
        for j in 0..<keyCount { scores[j] = VectorMath.dot(q, key(j), count: headDim) * scale }
        softmax(scores, count: keyCount)
        out.update(repeating: 0, count: headDim)
        for j in 0..<keyCount { VectorMath.addScaled(value(j), scores[j], to: out, count: headDim) }
    }

    /// In-place softmax of `count` values.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let maximum = VectorMath.maximum(x, count: count)
        let sum = VectorMath.exponentiate(x, count: count, shift: maximum)
        VectorMath.scale(x, count: count, by: 1 / sum)
    }
}
