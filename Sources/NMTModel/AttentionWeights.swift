/// Attention probabilities of every layer and head for one kind of attention:
/// `values` is `[layers, heads, rows, columns]`, each row a query's distribution over keys.
/// Rows sum to 1 over the keys the query could see; keys it could not see (later positions in
/// decoder self-attention) hold 0.
public struct AttentionMatrices: Sendable, Equatable {
    public let layers: Int
    public let heads: Int
    /// Queries: target pieces for cross- and decoder self-attention, source pieces for the encoder's.
    public let rows: Int
    /// Keys: source pieces for cross- and encoder self-attention, decoder inputs for decoder self-attention.
    public let columns: Int
    /// [layers, heads, rows, columns]
    public let values: [Float]

    public init(layers: Int, heads: Int, rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == layers * heads * rows * columns, "attention values do not match their shape")
        self.layers = layers
        self.heads = heads
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// One head of one layer: [rows][columns].
    public func matrix(layer: Int, head: Int) -> [[Float]] {
        let base = (layer * heads + head) * rows * columns
        return (0..<rows).map { i in Array(values[(base + i * columns)..<(base + (i + 1) * columns)]) }
    }

    /// A layer averaged over its heads: [rows][columns] (what transformers users plot).
    public func headMean(layer: Int) -> [[Float]] {
        var mean = [[Float]](repeating: [Float](repeating: 0, count: columns), count: rows)
        for h in 0..<heads {
            let base = (layer * heads + h) * rows * columns
            for i in 0..<rows {
                for j in 0..<columns { mean[i][j] += values[base + i * columns + j] }
            }
        }
        let inverse = 1 / Float(heads)
        return mean.map { $0.map { $0 * inverse } }
    }
}

/// The attention of one hypothesis, recorded while it was decoded. Row i of `cross` and
/// `decoderSelf` belongs to the step that generated target piece i (`</s>` included), as
/// transformers' `generate(output_attentions=True)` reports `cross_attentions`.
public struct AttentionWeights: Sendable, Equatable {
    /// [decoderLayers, heads, target pieces, source pieces] (source `</s>` included).
    public let cross: AttentionMatrices
    /// [decoderLayers, heads, target pieces, target pieces]: step i over the decoder inputs
    /// 0...i (the start token, then the pieces generated before piece i).
    public let decoderSelf: AttentionMatrices
    /// [encoderLayers, heads, source pieces, source pieces].
    public let encoderSelf: AttentionMatrices

    public init(cross: AttentionMatrices, decoderSelf: AttentionMatrices, encoderSelf: AttentionMatrices) {
        self.cross = cross
        self.decoderSelf = decoderSelf
        self.encoderSelf = encoderSelf
    }
}
