/// Where an attention's keys and values come from: the three uses of attention in the Transformer.
enum KeyValueSource {
    /// Projected from the queries' own input: the encoder's self-attention (sequence s attends
    /// to the rows of sequence s).
    case ownInput
    /// The decoder's self-attention cache of one layer: this call's positions are projected and
    /// appended to it, then attend to every position of their row so far.
    case cache(KVCache, layer: Int)
    /// The encoder output, projected once when decoding starts: cross-attention, in which query
    /// row r reads the sentence `sentenceOfRow[r]`.
    case memory(CrossAttentionMemory, sentenceOfRow: [Int])
}

/// One decoder layer's cross-attention keys and values of a batch's encoder output, projected once
/// per batch: `[sentences, heads, paddedLength, headDim]` each, so that one head's keys are
/// contiguous for the attention kernel. In buffers of the decoder state's `DecodingBuffers`, which
/// it keeps alive while a decoder state holds it.
final class CrossAttentionMemory: @unchecked Sendable {
    private let buffers: (keys: ScratchBuffer, values: ScratchBuffer)
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    let paddedLength: Int

    init(count: Int, paddedLength: Int, in buffers: (keys: ScratchBuffer, values: ScratchBuffer)) {
        self.buffers = buffers
        keys = buffers.keys.reserve(count)
        values = buffers.values.reserve(count)
        self.paddedLength = paddedLength
    }
}
