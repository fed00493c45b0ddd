#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// out: [queries, headDim] (stride ldo), scores: scratch of [queries, keyCount].
    static func attendHead(q: UnsafePointer<Float>, ldq: Int, queries: Int,
                           k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
                           keyCount: Int, causalOffset: Int?, headDim: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>,
                           out: UnsafeMutablePointer<Float>, ldo: Int) {
        // scores[queries, keys] = scale · q·kᵀ
        BLAS.gemm(m: queries, n: keyCount, k: headDim, alpha: scale, a: q, lda: ldq, b: k, ldb: ldk,
                  transposeB: true, beta: 0, c: scores, ldc: keyCount)
        for i in 0..<queries {
            let row = scores + i * keyCount
            let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
            softmax(row, count: visible)
            for j in visible..<keyCount { row[j] = 0 }
        }
        // out[queries, headDim] = scores · v
        BLAS.gemm(m: queries, n: headDim, k: keyCount, a: scores, lda: keyCount, b: v, ldb: ldv,
                  transposeB: false, beta: 0, c: out, ldc: ldo)
    }

    /// In-place softmax of `count` values.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, x[j]) }
        var sum: Float = 0
        for j in 0..<count {
            let e = expf(x[j] - maximum)
            x[j] = e
            sum += e
        }
        let inverse = 1 / sum
        for j in 0..<count { x[j] *= inverse }
    }
}
