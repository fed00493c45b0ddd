import NMTFormat

/// One decoder layer: masked self-attention over the cache, cross-attention over the encoder
/// output, feed-forward, each in a residual connection with its layer norm.
struct DecoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let crossAttention: MultiHeadAttention
    let crossAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm
    let normalizeBefore: Bool

    init(_ names: WeightTable.DecoderLayer, weights: WeightStore, config: ModelConfig) {
        selfAttention = MultiHeadAttention(names.selfAttention, weights: weights, heads: config.decoderHeads)
        selfAttentionNorm = LayerNorm(names.selfAttentionNorm, weights: weights)
        crossAttention = MultiHeadAttention(names.crossAttention, weights: weights, heads: config.decoderHeads)
        crossAttentionNorm = LayerNorm(names.crossAttentionNorm, weights: weights)
        feedForward = FeedForward(fc1: names.fc1, fc2: names.fc2, weights: weights)
        feedForwardNorm = LayerNorm(names.feedForwardNorm, weights: weights)
        normalizeBefore = config.normalizeBefore
    }

    /// x: [rows, steps, d], the new positions of every live row, updated in place. Layer `layer`
    /// of `state`'s cache receives their keys and values. attention: nil, or the buffers
    /// ([rows, heads, steps, ldp]) that receive the self- and cross-attention weights.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows: Int, steps: Int, layer: Int, state: DecoderState,
                        attention: (decoderSelf: UnsafeMutablePointer<Float>, cross: UnsafeMutablePointer<Float>)?,
                        on pool: ThreadPool) {
        let n = rows * steps, w = state.buffers.workspace
        residual(x, rows: n, norm: selfAttentionNorm, normalizeBefore: normalizeBefore, workspace: w) { input, out in
            selfAttention(input, sequences: rows, queries: steps, keys: .cache(state.cache, layer: layer), mask: .causal,
                          into: out, workspace: w, probabilities: attention?.decoderSelf,
                          ldp: state.cache.length + steps, on: pool)
        }
        residual(x, rows: n, norm: crossAttentionNorm, normalizeBefore: normalizeBefore, workspace: w) { input, out in
            crossAttention(input, sequences: rows, queries: steps,
                           keys: .memory(state.memory[layer], sentenceOfRow: state.rowSentence),
                           mask: .padding(lengths: state.rowSourceLengths), into: out, workspace: w,
                           probabilities: attention?.cross, ldp: state.sourcePaddedLength, on: pool)
        }
        residual(x, rows: n, norm: feedForwardNorm, normalizeBefore: normalizeBefore, workspace: w) { input, out in
            feedForward(input, rows: n, hidden: w.hidden.reserve(n * feedForward.fc1.outputSize), into: out, on: pool)
        }
    }
}
