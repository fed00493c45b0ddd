/// The encoder's result for a padded batch of source sequences.
public struct EncoderOutput: Sendable {
    public let batchSize: Int
    /// Padded source length (the longest sequence).
    public let paddedLength: Int
    /// Real length of each sequence; positions past it are padding and never attended to.
    public let lengths: [Int]
    /// [batch, paddedLength, dModel]
    public let states: [Float]
    /// When asked for: per encoder layer, the self-attention weights [batch, heads, S, S].
    let selfAttention: [[Float]]?
    let heads: Int

    init(batchSize: Int, paddedLength: Int, lengths: [Int], states: [Float], selfAttention: [[Float]]?, heads: Int) {
        self.batchSize = batchSize
        self.paddedLength = paddedLength
        self.lengths = lengths
        self.states = states
        self.selfAttention = selfAttention
        self.heads = heads
    }

    /// Sentence b's self-attention weights, [layers, heads, length, length], if they were recorded.
    public func selfAttention(sentence b: Int) -> AttentionMatrices? {
        guard let layers = selfAttention else { return nil }
        let S = paddedLength, n = lengths[b]
        var values: [Float] = []
        values.reserveCapacity(layers.count * heads * n * n)
        for layer in layers {
            for h in 0..<heads {
                for i in 0..<n {
                    let row = ((b * heads + h) * S + i) * S
                    values += layer[row..<(row + n)]
                }
            }
        }
        return AttentionMatrices(layers: layers.count, heads: heads, rows: n, columns: n, values: values)
    }
}
