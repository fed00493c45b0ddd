/// Every tensor a model file holds for a given config: its name (Hugging Face MarianMT's), its
/// shape and the dtypes it may be stored in. The one place where tensor names are spelled: the
/// loader validates a file against `all`, and the model is built from the named fields, so the two
/// cannot drift apart. docs/FORMAT.md lists the same table (a test checks that they agree).
public struct WeightTable: Sendable, Equatable {
    /// One tensor: its name in the file, its shape, and the dtypes allowed for it.
    public struct Entry: Sendable, Equatable, Hashable {
        public let name: String
        public let shape: [Int]
        public let dtypes: [DType]
    }

    /// A fully connected layer, `y = x·Wᵀ + b`: weight [out, in], bias [out].
    public struct Linear: Sendable, Equatable {
        public let weight: Entry
        public let bias: Entry
    }

    /// Layer norm scale (γ) and shift (β), both [dModel].
    public struct Norm: Sendable, Equatable {
        public let weight: Entry
        public let bias: Entry
    }

    /// The four projections of one multi-head attention.
    public struct Attention: Sendable, Equatable {
        public let query: Linear
        public let key: Linear
        public let value: Linear
        public let output: Linear
    }

    public struct EncoderLayer: Sendable, Equatable {
        public let selfAttention: Attention
        public let selfAttentionNorm: Norm
        public let fc1: Linear
        public let fc2: Linear
        public let feedForwardNorm: Norm
    }

    public struct DecoderLayer: Sendable, Equatable {
        public let selfAttention: Attention
        public let selfAttentionNorm: Norm
        public let crossAttention: Attention
        public let crossAttentionNorm: Norm
        public let fc1: Linear
        public let fc2: Linear
        public let feedForwardNorm: Norm
    }

    /// [sourceVocab, dModel]; the same entry as `targetEmbedding` when embeddings are shared.
    public let sourceEmbedding: Entry
    /// [targetVocab, dModel]
    public let targetEmbedding: Entry
    /// [targetVocab, dModel], or nil when the output projection is the target embedding.
    public let outputProjection: Entry?
    /// [1, targetVocab], or nil.
    public let logitsBias: Entry?
    public let encoderLayers: [EncoderLayer]
    public let decoderLayers: [DecoderLayer]
    /// After the last encoder / decoder layer, when the config asks for it (pre-LN models).
    public let encoderNorm: Norm?
    public let decoderNorm: Norm?
    /// Every tensor once, in file order (the order the writer uses).
    public let all: [Entry]

    public init(config c: ModelConfig) {
        let d = c.dModel
        var all: [Entry] = []
        // Matrices may be stored quantized; vectors (biases, norms, the logits bias) only as floats.
        func entry(_ name: String, _ shape: [Int], matrix: Bool = true) -> Entry {
            let e = Entry(name: name, shape: shape, dtypes: matrix ? [.f32, .f16, .i8] : [.f32, .f16])
            all.append(e)
            return e
        }
        func linear(_ prefix: String, out: Int, in inputs: Int) -> Linear {
            Linear(weight: entry("\(prefix).weight", [out, inputs]), bias: entry("\(prefix).bias", [out], matrix: false))
        }
        func norm(_ prefix: String) -> Norm {
            Norm(weight: entry("\(prefix).weight", [d], matrix: false), bias: entry("\(prefix).bias", [d], matrix: false))
        }
        func attention(_ prefix: String) -> Attention {
            Attention(query: linear("\(prefix).q_proj", out: d, in: d), key: linear("\(prefix).k_proj", out: d, in: d),
                      value: linear("\(prefix).v_proj", out: d, in: d),
                      output: linear("\(prefix).out_proj", out: d, in: d))
        }
        if c.sharedEmbeddings {
            sourceEmbedding = entry("model.shared.weight", [c.sourceVocabSize, d])
            targetEmbedding = sourceEmbedding
        } else {
            sourceEmbedding = entry("model.encoder.embed_tokens.weight", [c.sourceVocabSize, d])
            targetEmbedding = entry("model.decoder.embed_tokens.weight", [c.targetVocabSize, d])
        }
        outputProjection = c.tiedOutput ? nil : entry("lm_head.weight", [c.targetVocabSize, d])
        logitsBias = c.finalLogitsBias ? entry("final_logits_bias", [1, c.targetVocabSize], matrix: false) : nil
        encoderLayers = (0..<c.encoderLayers).map { i in
            let p = "model.encoder.layers.\(i)"
            return EncoderLayer(
                selfAttention: attention("\(p).self_attn"), selfAttentionNorm: norm("\(p).self_attn_layer_norm"),
                fc1: linear("\(p).fc1", out: c.encoderFFNDim, in: d), fc2: linear("\(p).fc2", out: d, in: c.encoderFFNDim),
                feedForwardNorm: norm("\(p).final_layer_norm"))
        }
        decoderLayers = (0..<c.decoderLayers).map { i in
            let p = "model.decoder.layers.\(i)"
            return DecoderLayer(
                selfAttention: attention("\(p).self_attn"), selfAttentionNorm: norm("\(p).self_attn_layer_norm"),
                crossAttention: attention("\(p).encoder_attn"), crossAttentionNorm: norm("\(p).encoder_attn_layer_norm"),
                fc1: linear("\(p).fc1", out: c.decoderFFNDim, in: d), fc2: linear("\(p).fc2", out: d, in: c.decoderFFNDim),
                feedForwardNorm: norm("\(p).final_layer_norm"))
        }
        encoderNorm = c.finalLayerNorm ? norm("model.encoder.layer_norm") : nil
        decoderNorm = c.finalLayerNorm ? norm("model.decoder.layer_norm") : nil
        self.all = all
    }
}

/// How a tensor's elements are stored in the file.
public enum DType: String, Sendable, CaseIterable, Codable {
    /// IEEE 754 binary32.
    case f32
    /// IEEE 754 binary16, widened to f32 on load.
    case f16
    /// Signed 8-bit integers with one f32 scale per row (value = int8 / scale), matrices only.
    case i8

    /// Bytes per element (an i8 tensor's scales come on top).
    public var size: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .i8: 1
        }
    }
}
