import NMTFormat

/// One encoder layer: self-attention and feed-forward, each wrapped in a residual connection
/// with a layer norm after (post-LN, Marian) or before (pre-LN) the sublayer.
struct EncoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm
    let normalizeBefore: Bool

    init(_ names: WeightTable.EncoderLayer, weights: WeightStore, config: ModelConfig) {
        selfAttention = MultiHeadAttention(names.selfAttention, weights: weights, heads: config.encoderHeads)
        selfAttentionNorm = LayerNorm(names.selfAttentionNorm, weights: weights)
        feedForward = FeedForward(fc1: names.fc1, fc2: names.fc2, weights: weights)
        feedForwardNorm = LayerNorm(names.feedForwardNorm, weights: weights)
        normalizeBefore = config.normalizeBefore
    }

    /// x: [Σ lengths, d], the sequences packed back to back (no padding), updated in place.
    /// attention: nil, or [sequences, heads, S, S] for the self-attention weights, S the longest.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, lengths: [Int], workspace w: LayerWorkspace,
                        attention: UnsafeMutablePointer<Float>?, on pool: ThreadPool) {
        let rows = lengths.reduce(0, +), S = lengths.max() ?? 0
        residual(x, rows: rows, norm: selfAttentionNorm, normalizeBefore: normalizeBefore, workspace: w) { input, out in
            selfAttention(input, sequences: lengths.count, queries: S, keys: .ownInput, mask: .packed(lengths: lengths),
                          into: out, workspace: w, probabilities: attention, ldp: S, on: pool)
        }
        residual(x, rows: rows, norm: feedForwardNorm, normalizeBefore: normalizeBefore, workspace: w) { input, out in
            feedForward(input, rows: rows, hidden: w.hidden.reserve(rows * feedForward.fc1.outputSize), into: out, on: pool)
        }
    }
}
