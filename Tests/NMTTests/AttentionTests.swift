import Foundation
import Testing
@testable import NMTModel

/// The fast attention (`MultiHeadAttention` over the C kernels) against the textbook one
/// (`ReferenceAttention`), for each of its uses, masks and awkward shapes; and the textbook one
/// against a case computed by hand.
@Suite struct AttentionTests {
    /// Random weights of one attention layer, kept alive for the `Linear` views of them.
    final class Layer {
        let d: Int, heads: Int
        let matrices: [[Float]], biases: [[Float]]  // query, key, value, output: [d · d], [d]
        let reference: ReferenceAttention.Weights

        init(d: Int, heads: Int, random: () -> Float) {
            self.d = d
            self.heads = heads
            // Scaled as trained layers are, so that scores stay in a realistic range.
            let scale = 1 / Float(d).squareRoot()
            matrices = (0..<4).map { _ in (0..<(d * d)).map { _ in random() * scale } }
            biases = (0..<4).map { _ in (0..<d).map { _ in random() } }
            let rows = matrices.map { m in (0..<d).map { Array(m[($0 * d)..<($0 * d + d)]) } }
            reference = ReferenceAttention.Weights(query: rows[0], queryBias: biases[0], key: rows[1], keyBias: biases[1],
                                                   value: rows[2], valueBias: biases[2], output: rows[3],
                                                   outputBias: biases[3], heads: heads)
        }

        /// The fast layer; valid while self lives (the arrays are never mutated).
        var fast: MultiHeadAttention {
            func linear(_ i: Int) -> Linear {
                Linear(weight: matrices[i].withUnsafeBufferPointer { $0.baseAddress! },
                       bias: biases[i].withUnsafeBufferPointer { $0.baseAddress! }, outputSize: d, inputSize: d)
            }
            return MultiHeadAttention(query: linear(0), key: linear(1), value: linear(2), output: linear(3), heads: heads)
        }
    }

    static func generator(_ seed: UInt64) -> () -> Float {
        var state = seed
        return {  // deterministic, in [-1, 1)
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    /// Two queries, three keys, head size 2, one head, identity projections: computed by hand.
    @Test func referenceMatchesAHandComputedCase() {
        let q: [[Float]] = [[1, 0], [0, 2]], k: [[Float]] = [[1, 0], [0, 1], [1, 1]], v: [[Float]] = [[1, 2], [3, 4], [5, 6]]
        // Scores: q0·k = [1, 0, 1], q1·k = [0, 2, 2], times 1/√2.
        func softmax(_ s: [Double]) -> [Float] {
            let e = s.map { exp($0 / 2.0.squareRoot()) }, total = e.reduce(0, +)
            return e.map { Float($0 / total) }
        }
        let (context, weights) = ReferenceAttention.attention(q, k, v, visible: { _, _ in true })
        #expect(maxAbsDifference(weights[0], softmax([1, 0, 1])) < 1e-5)
        #expect(maxAbsDifference(weights[1], softmax([0, 2, 2])) < 1e-5)
        let p = weights[1]
        #expect(maxAbsDifference(context[1], [p[0] * 1 + p[1] * 3 + p[2] * 5, p[0] * 2 + p[1] * 4 + p[2] * 6]) < 1e-5)
        // Causal: query 0 sees key 0 only, so its context is value 0.
        let causal = ReferenceAttention.attention(q, k, v, visible: { i, j in j <= i })
        #expect(causal.weights[0] == [1, 0, 0] && causal.context[0] == [1, 2])
        #expect(maxAbsDifference(causal.weights[1], softmax([0, 2]) + [0]) < 1e-5)
    }

    /// The encoder's use: the sequences of a batch packed back to back, each over its own keys;
    /// and a padded batch with a causal mask.
    @Test(arguments: [(d: 8, heads: 2), (d: 12, heads: 3), (d: 64, heads: 1), (d: 130, heads: 2)])
    func ownInputMatchesTheReference(shape: (d: Int, heads: Int)) {
        let random = Self.generator(UInt64(shape.d))
        let layer = Layer(d: shape.d, heads: shape.heads, random: random)
        let lengths = [5, 1, 17, 2], S = 17, d = shape.d
        let padded = (0..<(lengths.count * S * d)).map { _ in random() }  // [sequences, S, d]
        var packed: [Float] = []  // [Σ lengths, d]
        var firstRow: [Int] = []
        for (s, length) in lengths.enumerated() {
            firstRow.append(packed.count / d)
            packed += padded[(s * S * d)..<((s * S + length) * d)]
        }
        for mask in [AttentionMask.packed(lengths: lengths), .causal] {
            let isCausal: Bool
            if case .causal = mask { isCausal = true } else { isCausal = false }
            let x = isCausal ? padded : packed
            let (out, weights) = run(layer, x, sequences: lengths.count, queries: S, keys: .ownInput, mask: mask)
            for (s, length) in lengths.enumerated() {
                let visibleRows = isCausal ? S : length
                func row(_ t: Int) -> Range<Int> {
                    let r = isCausal ? s * S + t : firstRow[s] + t
                    return (r * d)..<((r + 1) * d)
                }
                let input = (0..<visibleRows).map { t in Array(x[row(t)]) }
                let expected = ReferenceAttention.multiHead(input, memory: input, weights: layer.reference) { i, j in
                    isCausal ? j <= i : j < length
                }
                for t in 0..<visibleRows {
                    #expect(maxAbsDifference(out[row(t)], expected.output[t]) < 1e-4,
                            "\(mask) d \(d): sequence \(s) position \(t)")
                    for h in 0..<shape.heads {
                        let row = ((s * shape.heads + h) * S + t) * S
                        #expect(maxAbsDifference(weights[row..<(row + visibleRows)], expected.weights[h][t]) < 1e-5)
                    }
                }
            }
        }
    }

    /// The decoder's self-attention over its cache: steps of one and of several positions, beams
    /// taking over other beams between them, the cache growing past its first capacity; then the
    /// same again in a second cache that takes over the first one's buffers, full of its keys and
    /// values (as the next batch's cache does).
    @Test(arguments: [(d: 8, heads: 2), (d: 64, heads: 1), (d: 130, heads: 2)])
    func cachedSelfAttentionMatchesTheReference(shape: (d: Int, heads: Int)) throws {
        let random = Self.generator(UInt64(shape.d) + 100)
        let layer = Layer(d: shape.d, heads: shape.heads, random: random)
        let headDim = shape.d / shape.heads
        let first = KVCache(layers: 1, rows: 3, heads: shape.heads, headDim: headDim, initialCapacity: 2, maxCapacity: 40)
        try attendThroughCache(first, layer: layer, d: shape.d, heads: shape.heads, random: random)
        let second = KVCache(layers: 1, rows: 3, heads: shape.heads, headDim: headDim, initialCapacity: 2, maxCapacity: 40,
                             reusing: first.storage)
        #expect(second.storage === first.storage && second.capacity == first.capacity)
        try attendThroughCache(second, layer: layer, d: shape.d, heads: shape.heads, random: random)
    }

    private func attendThroughCache(_ cache: KVCache, layer: Layer, d: Int, heads: Int,
                                    random: () -> Float) throws {
        let shape = (d: d, heads: heads)
        var histories: [[[Float]]] = [[], [], []]  // each live row's inputs so far
        // (steps, then the rows that continue: beams taking over, one leaving)
        let plan: [(steps: Int, select: [Int]?)] = [(1, [0, 0, 1]), (2, [2, 0, 1]), (1, nil), (3, [1, 1]), (20, nil)]
        for (steps, select) in plan {
            let rows = histories.count
            let x = (0..<(rows * steps * d)).map { _ in random() }  // [rows, steps, d]
            try cache.reserve(cache.length + steps)
            let (out, weights) = run(layer, x, sequences: rows, queries: steps, keys: .cache(cache, layer: 0),
                                     mask: .causal, ldp: cache.length + steps)
            for r in 0..<rows {
                let new = (0..<steps).map { t in Array(x[((r * steps + t) * d)..<((r * steps + t + 1) * d)]) }
                let past = histories[r].count
                let all = histories[r] + new
                let expected = ReferenceAttention.multiHead(new, memory: all, weights: layer.reference) { i, j in j <= past + i }
                for t in 0..<steps {
                    #expect(maxAbsDifference(out[((r * steps + t) * d)..<((r * steps + t + 1) * d)], expected.output[t]) < 1e-4,
                            "row \(r) position \(past + t)")
                    for h in 0..<shape.heads {
                        let row = ((r * shape.heads + h) * steps + t) * (past + steps)
                        #expect(maxAbsDifference(weights[row..<(row + past + t + 1)],
                                                 expected.weights[h][t].prefix(past + t + 1)) < 1e-5)
                    }
                }
                histories[r] = all
            }
            cache.length += steps
            if let select {
                cache.select(select)
                histories = select.map { histories[$0] }
            }
        }
    }

    /// Cross-attention: rows of several sentences (beams) over the encoder memory of their sentence.
    @Test(arguments: [(d: 8, heads: 2), (d: 64, heads: 4), (d: 130, heads: 2)])
    func crossAttentionMatchesTheReference(shape: (d: Int, heads: Int)) {
        let random = Self.generator(UInt64(shape.d) + 200)
        let layer = Layer(d: shape.d, heads: shape.heads, random: random)
        let d = shape.d, lengths = [3, 18], S = 18
        let states = (0..<(lengths.count * S * d)).map { _ in random() }
        let packed = lengths.enumerated().flatMap { s, length in states[(s * S * d)..<((s * S + length) * d)] }
        let encoder = EncoderOutput(lengths: lengths, packedStates: packed, stateSize: d, selfAttention: nil,
                                    heads: shape.heads)
        #expect(encoder.states.count == states.count && encoder.paddedLength == S)
        // Buffers that held something else before (a model's buffers serve batch after batch).
        let buffers = (keys: ScratchBuffer(), values: ScratchBuffer()), projected = ScratchBuffer()
        for buffer in [buffers.keys, buffers.values, projected] { buffer.reserve(4 * S * d).update(repeating: .nan, count: 4 * S * d) }
        let memory = layer.fast.memory(of: encoder, in: buffers, projected: projected, on: testPool)
        let sentenceOfRow = [1, 0, 1, 0], steps = 2
        let x = (0..<(sentenceOfRow.count * steps * d)).map { _ in random() }
        let (out, weights) = run(layer, x, sequences: sentenceOfRow.count, queries: steps,
                                 keys: .memory(memory, sentenceOfRow: sentenceOfRow),
                                 mask: .padding(lengths: sentenceOfRow.map { lengths[$0] }), ldp: S)
        for (r, sentence) in sentenceOfRow.enumerated() {
            let queries = (0..<steps).map { t in Array(x[((r * steps + t) * d)..<((r * steps + t + 1) * d)]) }
            let source = (0..<lengths[sentence]).map { t in Array(states[((sentence * S + t) * d)..<((sentence * S + t + 1) * d)]) }
            let expected = ReferenceAttention.multiHead(queries, memory: source, weights: layer.reference) { _, _ in true }
            for t in 0..<steps {
                #expect(maxAbsDifference(out[((r * steps + t) * d)..<((r * steps + t + 1) * d)], expected.output[t]) < 1e-4)
                for h in 0..<shape.heads {
                    let row = ((r * shape.heads + h) * steps + t) * S
                    #expect(maxAbsDifference(weights[row..<(row + lengths[sentence])], expected.weights[h][t]) < 1e-5)
                    #expect(weights[(row + lengths[sentence])..<(row + S)].allSatisfy { $0 == 0 }, "padding gets no weight")
                }
            }
        }
    }

    /// Runs the fast layer; returns its output and the recorded weights [sequences, heads, queries, ldp].
    private func run(_ layer: Layer, _ x: [Float], sequences: Int, queries: Int, keys: KeyValueSource,
                     mask: AttentionMask, ldp: Int? = nil) -> (output: [Float], weights: [Float]) {
        let ldp = ldp ?? queries
        var out = [Float](repeating: .nan, count: sequences * queries * layer.d)
        var weights = [Float](repeating: 0, count: sequences * layer.heads * queries * ldp)
        let workspace = LayerWorkspace()
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { out in
                weights.withUnsafeMutableBufferPointer { weights in
                    layer.fast(x.baseAddress!, sequences: sequences, queries: queries, keys: keys, mask: mask,
                               into: out.baseAddress!, workspace: workspace, probabilities: weights.baseAddress!,
                               ldp: ldp, on: testPool)
                }
            }
        }
        return (out, weights)
    }
}
