/// One encoder layer: self-attention and feed-forward, each wrapped in a residual connection
/// with a layer norm after (post-LN, Marian) or before (pre-LN) the sublayer.
struct EncoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm
}

/// One decoder layer: masked self-attention, cross-attention over the encoder output, feed-forward.
struct DecoderLayer: Sendable {
    let selfAttention: MultiHeadAttention
    let selfAttentionNorm: LayerNorm
    let crossAttention: MultiHeadAttention
    let crossAttentionNorm: LayerNorm
    let feedForward: FeedForward
    let feedForwardNorm: LayerNorm
}

extension ModelFile {
    /// The one place where file tensor names (Hugging Face MarianMT's) meet Swift properties.
    func linear(_ prefix: String) -> Linear {
        Linear(weight: tensor("\(prefix).weight"), bias: tensor("\(prefix).bias"))
    }

    func layerNorm(_ prefix: String) -> LayerNorm {
        LayerNorm(weight: tensor("\(prefix).weight"), bias: tensor("\(prefix).bias"), epsilon: config.layerNormEpsilon)
    }

    func attention(_ prefix: String, heads: Int) -> MultiHeadAttention {
        MultiHeadAttention(query: linear("\(prefix).q_proj"), key: linear("\(prefix).k_proj"),
                           value: linear("\(prefix).v_proj"), output: linear("\(prefix).out_proj"), heads: heads)
    }

    func encoderLayer(_ i: Int) -> EncoderLayer {
        let p = "model.encoder.layers.\(i)"
        return EncoderLayer(
            selfAttention: attention("\(p).self_attn", heads: config.encoderHeads),
            selfAttentionNorm: layerNorm("\(p).self_attn_layer_norm"),
            feedForward: FeedForward(fc1: linear("\(p).fc1"), fc2: linear("\(p).fc2"), activation: config.activation),
            feedForwardNorm: layerNorm("\(p).final_layer_norm"))
    }

    func decoderLayer(_ i: Int) -> DecoderLayer {
        let p = "model.decoder.layers.\(i)"
        return DecoderLayer(
            selfAttention: attention("\(p).self_attn", heads: config.decoderHeads),
            selfAttentionNorm: layerNorm("\(p).self_attn_layer_norm"),
            crossAttention: attention("\(p).encoder_attn", heads: config.decoderHeads),
            crossAttentionNorm: layerNorm("\(p).encoder_attn_layer_norm"),
            feedForward: FeedForward(fc1: linear("\(p).fc1"), fc2: linear("\(p).fc2"), activation: config.activation),
            feedForwardNorm: layerNorm("\(p).final_layer_norm"))
    }
}
