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

    init(_ names: WeightTable.DecoderLayer, file: ModelFile, heads: Int) {
        selfAttention = MultiHeadAttention(names.selfAttention, file: file, heads: heads)
        selfAttentionNorm = LayerNorm(names.selfAttentionNorm, file: file)
        crossAttention = MultiHeadAttention(names.crossAttention, file: file, heads: heads)
        crossAttentionNorm = LayerNorm(names.crossAttentionNorm, file: file)
        feedForward = FeedForward(fc1: names.fc1, fc2: names.fc2, file: file)
        feedForwardNorm = LayerNorm(names.feedForwardNorm, file: file)
    }
}
