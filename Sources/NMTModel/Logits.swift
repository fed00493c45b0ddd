/// What one `TransformerModel.decode` call computes: for each decoded position (row-major
/// [rows, steps]) the logits over the target vocabulary and log Σ exp of them, so that
/// log p(token) = logit − normalizer without another pass over the vocabulary.
///
/// It views the decoder state's buffers, read-only: valid until the next `decode` on that state.
public struct Logits {
    /// [positions, vocabularySize]
    public let values: UnsafeBufferPointer<Float>
    /// [positions]
    public let logNormalizers: UnsafeBufferPointer<Float>
    public let vocabularySize: Int

    public init(values: UnsafeBufferPointer<Float>, logNormalizers: UnsafeBufferPointer<Float>, vocabularySize: Int) {
        precondition(values.count == logNormalizers.count * vocabularySize, "logits and normalizers disagree")
        self.values = values
        self.logNormalizers = logNormalizers
        self.vocabularySize = vocabularySize
    }

    /// Decoded positions (rows × steps).
    public var positions: Int { logNormalizers.count }

    /// The logits of one position: [vocabularySize].
    public func row(_ position: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: values[(position * vocabularySize)..<((position + 1) * vocabularySize)])
    }

    /// log p(token) at a position.
    @inline(__always)
    public func logProbability(position: Int, token: Int) -> Float {
        values[position * vocabularySize + token] - logNormalizers[position]
    }
}
