/// Every hyperparameter the forward pass needs, as stored in the model file header (docs/FORMAT.md).
public struct ModelConfig: Codable, Sendable, Equatable {
    public enum Activation: String, Codable, Sendable { case relu, gelu, swish }
    /// Where the sine and cosine features sit in a sinusoidal position vector.
    public enum PositionLayout: String, Codable, Sendable {
        /// Sines in the first half, cosines in the second (Marian, Hugging Face MarianMT).
        case halves
        /// Sine and cosine alternate (the original Transformer, fairseq-style tensor2tensor variants).
        case interleaved
    }

    public var dModel: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderHeads: Int
    public var decoderHeads: Int
    public var encoderFFNDim: Int
    public var decoderFFNDim: Int
    public var sourceVocabSize: Int
    public var targetVocabSize: Int
    public var maxPositions: Int
    public var activation: Activation
    /// Pre-layer-norm blocks (`x + f(LN(x))`) instead of post-layer-norm (`LN(x + f(x))`).
    public var normalizeBefore: Bool
    /// A layer norm after the last encoder layer and after the last decoder layer (pre-LN models need it).
    public var finalLayerNorm: Bool
    public var positionLayout: PositionLayout
    /// Token embeddings are multiplied by this (√dModel for Marian's `scale_embedding`).
    public var embeddingScale: Float
    /// One embedding matrix for source and target tokens (`model.shared.weight`).
    public var sharedEmbeddings: Bool
    /// The output projection is the target embedding matrix (no separate `lm_head.weight`).
    public var tiedOutput: Bool
    /// A bias added to the logits (`final_logits_bias`).
    public var finalLogitsBias: Bool
    public var layerNormEpsilon: Float
    public var padID: Int
    public var eosID: Int
    public var unkID: Int
    public var decoderStartID: Int
    /// The language the model translates from, as an ISO 639 code (`en`), if the file records it.
    /// Optional: files written before the field existed lack it (docs/FORMAT.md, Versions).
    public var sourceLanguage: String?
    /// The language the model translates into, as an ISO 639 code (`de`), if the file records it.
    public var targetLanguage: String?

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", encoderLayers = "encoder_layers", decoderLayers = "decoder_layers"
        case encoderHeads = "encoder_heads", decoderHeads = "decoder_heads"
        case encoderFFNDim = "encoder_ffn_dim", decoderFFNDim = "decoder_ffn_dim"
        case sourceVocabSize = "source_vocab_size", targetVocabSize = "target_vocab_size"
        case maxPositions = "max_positions", activation, normalizeBefore = "normalize_before"
        case finalLayerNorm = "final_layer_norm", positionLayout = "position_layout"
        case embeddingScale = "embedding_scale", sharedEmbeddings = "shared_embeddings"
        case tiedOutput = "tied_output", finalLogitsBias = "final_logits_bias"
        case layerNormEpsilon = "layer_norm_eps", padID = "pad_id", eosID = "eos_id", unkID = "unk_id"
        case decoderStartID = "decoder_start_id"
        case sourceLanguage = "source_language", targetLanguage = "target_language"
    }

    /// Rejects values the forward pass cannot run with, naming the field.
    public func validate() throws(ModelFileError) {
        // Generous upper bounds keep arithmetic on sizes far from overflow on a damaged header.
        func check(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws(ModelFileError) {
            guard range.contains(value) else {
                throw .invalidConfig(field: field, problem: "is \(value), expected \(range.lowerBound)...\(range.upperBound)")
            }
        }
        try check(dModel, "d_model", 1...65_536)
        try check(encoderLayers, "encoder_layers", 1...256)
        try check(decoderLayers, "decoder_layers", 1...256)
        try check(encoderHeads, "encoder_heads", 1...dModel)
        try check(decoderHeads, "decoder_heads", 1...dModel)
        try check(encoderFFNDim, "encoder_ffn_dim", 1...1_048_576)
        try check(decoderFFNDim, "decoder_ffn_dim", 1...1_048_576)
        try check(sourceVocabSize, "source_vocab_size", 1...16_777_216)
        try check(targetVocabSize, "target_vocab_size", 1...16_777_216)
        try check(maxPositions, "max_positions", 2...1_048_576)
        guard dModel % encoderHeads == 0 else {
            throw .invalidConfig(field: "encoder_heads", problem: "(\(encoderHeads)) does not divide d_model (\(dModel))")
        }
        guard dModel % decoderHeads == 0 else {
            throw .invalidConfig(field: "decoder_heads", problem: "(\(decoderHeads)) does not divide d_model (\(dModel))")
        }
        if positionLayout == .halves || positionLayout == .interleaved, dModel % 2 != 0 {
            throw .invalidConfig(field: "d_model", problem: "(\(dModel)) must be even for sinusoidal positions")
        }
        guard embeddingScale.isFinite else { throw .invalidConfig(field: "embedding_scale", problem: "is not finite") }
        guard layerNormEpsilon.isFinite, layerNormEpsilon >= 0 else {
            throw .invalidConfig(field: "layer_norm_eps", problem: "must be a finite number >= 0")
        }
        if sharedEmbeddings, sourceVocabSize != targetVocabSize {
            throw .invalidConfig(field: "shared_embeddings", problem: "is true but the vocabulary sizes differ")
        }
        try check(padID, "pad_id", 0...(targetVocabSize - 1))
        try check(eosID, "eos_id", 0...(min(sourceVocabSize, targetVocabSize) - 1))
        try check(unkID, "unk_id", 0...(min(sourceVocabSize, targetVocabSize) - 1))
        try check(decoderStartID, "decoder_start_id", 0...(targetVocabSize - 1))
        for (code, field) in [(sourceLanguage, "source_language"), (targetLanguage, "target_language")] {
            if let code, !Self.isLanguageCode(code) {
                throw .invalidConfig(field: field, problem: "is \"\(code.prefix(40))\", expected an ISO 639 code such as \"en\"")
            }
        }
    }

    /// An ISO 639 code (`en`, `deu`), optionally with BCP 47 subtags (`pt-BR`, `zh-Hant`): ASCII
    /// letters first, then letters, digits and hyphens, at most 35 characters.
    public static func isLanguageCode(_ code: String) -> Bool {
        let bytes = Array(code.utf8)
        guard (2...35).contains(bytes.count), bytes.prefix(2).allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A })
        else { return false }
        return bytes.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || (0x30...0x39).contains($0) || $0 == 0x2D }
    }
}
