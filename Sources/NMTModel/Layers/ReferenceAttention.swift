import Foundation

/// Multi-head attention as the textbook writes it, loop by loop over plain arrays: no SIMD, no
/// cache, no pointer arithmetic, no fused steps. It is what `MultiHeadAttention` computes, and
/// the oracle the tests compare it with for every mask and shape. Read this one first.
///
///     Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V
///     MultiHead(x, m)    = concat(head_1, …, head_h) · W_o + b_o
///     head_i             = Attention(x·W_qᵢ + b_qᵢ, m·W_kᵢ + b_kᵢ, m·W_vᵢ + b_vᵢ)
///
/// x are the queries' inputs, m the inputs of keys and values (x itself in self-attention, the
/// encoder output in cross-attention). Weights are in PyTorch's `[out, in]` layout, as in the
/// model file.
public enum ReferenceAttention {
    public struct Weights {
        public var query: [[Float]], queryBias: [Float]     // [d, d], [d]
        public var key: [[Float]], keyBias: [Float]
        public var value: [[Float]], valueBias: [Float]
        public var output: [[Float]], outputBias: [Float]
        public var heads: Int

        public init(query: [[Float]], queryBias: [Float], key: [[Float]], keyBias: [Float], value: [[Float]],
                    valueBias: [Float], output: [[Float]], outputBias: [Float], heads: Int) {
            (self.query, self.queryBias, self.key, self.keyBias) = (query, queryBias, key, keyBias)
            (self.value, self.valueBias, self.output, self.outputBias) = (value, valueBias, output, outputBias)
            self.heads = heads
        }
    }

    /// x: [queries][d], memory: [keys][d]; visible(i, j): may query i see key j (the mask).
    /// Returns the output [queries][d] and the attention weights [heads][queries][keys].
    public static func multiHead(_ x: [[Float]], memory: [[Float]], weights w: Weights,
                                 visible: (Int, Int) -> Bool) -> (output: [[Float]], weights: [[[Float]]]) {
        let d = w.queryBias.count, headDim = d / w.heads
        let q = linear(x, w.query, w.queryBias)
        let k = linear(memory, w.key, w.keyBias)
        let v = linear(memory, w.value, w.valueBias)
        var concatenated = [[Float]](repeating: [Float](repeating: 0, count: d), count: x.count)
        var allWeights: [[[Float]]] = []
        for h in 0..<w.heads {
            let columns = (h * headDim)..<((h + 1) * headDim)
            let (context, weights) = attention(q.map { Array($0[columns]) }, k.map { Array($0[columns]) },
                                               v.map { Array($0[columns]) }, visible: visible)
            for i in 0..<x.count { concatenated[i].replaceSubrange(columns, with: context[i]) }
            allWeights.append(weights)
        }
        return (linear(concatenated, w.output, w.outputBias), allWeights)
    }

    /// softmax(q·kᵀ / √d_k)·v for one head: q [queries][d_k], k and v [keys][d_k]; keys a query
    /// may not see get no weight. Returns the context [queries][d_k] and the weights [queries][keys].
    public static func attention(_ q: [[Float]], _ k: [[Float]], _ v: [[Float]],
                                 visible: (Int, Int) -> Bool) -> (context: [[Float]], weights: [[Float]]) {
        let scale = 1 / Float(q.first?.count ?? 1).squareRoot()
        var context: [[Float]] = [], weights: [[Float]] = []
        for i in q.indices {
            // Scores of the visible keys; the others are −∞ and vanish in the softmax.
            var scores = [Float](repeating: -.infinity, count: k.count)
            for j in k.indices where visible(i, j) {
                var dot: Float = 0
                for c in q[i].indices { dot += q[i][c] * k[j][c] }
                scores[j] = dot * scale
            }
            let highest = scores.max()!
            let exps = scores.map { $0 == -.infinity ? 0 : exp($0 - highest) }
            let total = exps.reduce(0, +)
            let p = exps.map { $0 / total }
            var row = [Float](repeating: 0, count: v.first?.count ?? 0)
            for j in v.indices {
                for c in row.indices { row[c] += p[j] * v[j][c] }
            }
            context.append(row)
            weights.append(p)
        }
        return (context, weights)
    }

    /// x·Wᵀ + b for every row of x.
    static func linear(_ x: [[Float]], _ w: [[Float]], _ b: [Float]) -> [[Float]] {
        x.map { row in
            w.indices.map { o in
                var sum = b[o]
                for i in row.indices { sum += w[o][i] * row[i] }
                return sum
            }
        }
    }
}
