import NMTFormat

/// One decoder layer: masked self-attention, cross-attention over the encoder output,
/// feed-forward, each in a residual connection with its layer norm.
struct DecoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let crossAttention: MultiHeadAttention
    let crossAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm

    init(_ names: WeightTable.DecoderLayer, weights: WeightStore, heads: Int) {
        selfAttention = MultiHeadAttention(names.selfAttention, weights: weights, heads: heads)
        selfAttentionNorm = LayerNorm(names.selfAttentionNorm, weights: weights)
        crossAttention = MultiHeadAttention(names.crossAttention, weights: weights, heads: heads)
        crossAttentionNorm = LayerNorm(names.crossAttentionNorm, weights: weights)
        feedForward = FeedForward(fc1: names.fc1, fc2: names.fc2, weights: weights)
        feedForwardNorm = LayerNorm(names.feedForwardNorm, weights: weights)
    }
}
