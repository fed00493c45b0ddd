import NMTFormat

/// One encoder layer: self-attention and feed-forward, each wrapped in a residual connection
/// with a layer norm after (post-LN, Marian) or before (pre-LN) the sublayer.
struct EncoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm

    init(_ names: WeightTable.EncoderLayer, weights: WeightStore, heads: Int) {
        selfAttention = MultiHeadAttention(names.selfAttention, weights: weights, heads: heads)
        selfAttentionNorm = LayerNorm(names.selfAttentionNorm, weights: weights)
        feedForward = FeedForward(fc1: names.fc1, fc2: names.fc2, weights: weights)
        feedForwardNorm = LayerNorm(names.feedForwardNorm, weights: weights)
    }
}
