/// The encoder's result for a batch of source sequences.
public struct EncoderOutput: Sendable {
    public let batchSize: Int
    /// The longest sequence's length: the cross-attention memory's per-sentence layout.
    public let paddedLength: Int
    /// Real length of each sequence.
    public let lengths: [Int]
    /// [Σ lengths, dModel]: the sequences' states back to back, without padding.
    let packedStates: [Float]
    let tokenCount: Int
    private let stateSize: Int
    /// When asked for: per encoder layer, the self-attention weights [batch, heads, S, S].
    let selfAttention: [[Float]]?
    let heads: Int

    init(lengths: [Int], packedStates: [Float], stateSize: Int, selfAttention: [[Float]]?, heads: Int) {
        batchSize = lengths.count
        paddedLength = lengths.max() ?? 0
        self.lengths = lengths
        self.packedStates = packedStates
        tokenCount = lengths.reduce(0, +)
        self.stateSize = stateSize
        self.selfAttention = selfAttention
        self.heads = heads
    }

    /// [batch, paddedLength, dModel], zero past each sequence's length (a copy).
    public var states: [Float] {
        let d = stateSize, S = paddedLength
        var padded = [Float](repeating: 0, count: batchSize * S * d)
        var row = 0
        for (b, length) in lengths.enumerated() {
            padded[(b * S * d)..<((b * S + length) * d)] = packedStates[(row * d)..<((row + length) * d)]
            row += length
        }
        return padded
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
