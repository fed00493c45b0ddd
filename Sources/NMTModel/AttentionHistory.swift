/// The attention weights of every decoded position of every row, kept while decoding when they
/// are asked for, so that a finished hypothesis can take its own.
///
/// Beams take over other beams: position t's row r continues row `parents[r]` of position
/// t − 1. Nothing is copied when rows are selected; a hypothesis follows the parents back from
/// its last row, as its tokens were found.
final class AttentionHistory {
    private struct Position {
        /// Per decoder layer: [rows, heads, sourcePaddedLength]
        var cross: [[Float]]
        /// Per decoder layer: [rows, heads, keys], keys = this position + 1
        var decoderSelf: [[Float]]
        /// The row of the previous position that each row continues.
        var parents: [Int]
    }

    let layers: Int
    let heads: Int
    let sourcePaddedLength: Int
    private var positions: [Position] = []
    /// Rows selected since the last position: next row r continues row pending[r].
    private var pending: [Int]?

    init(layers: Int, heads: Int, sourcePaddedLength: Int) {
        self.layers = layers
        self.heads = heads
        self.sourcePaddedLength = sourcePaddedLength
    }

    /// Rows were selected (see `DecoderState.select`).
    func select(_ sources: [Int]) {
        pending = pending.map { earlier in sources.map { earlier[$0] } } ?? sources
    }

    /// Records one decode call of `steps` positions for `rows` rows from the layers' buffers:
    /// decoderSelf[l]: [rows, heads, steps, keys], keys = first + steps; cross[l]: [rows, heads,
    /// steps, sourcePaddedLength]; `first` is the position of the first step.
    func record(rows: Int, steps: Int, first: Int, decoderSelf: [[Float]], cross: [[Float]]) {
        let S = sourcePaddedLength, keys = first + steps
        for t in 0..<steps {
            let parents = t == 0 ? (pending ?? Array(0..<rows)) : Array(0..<rows)
            var position = Position(cross: [], decoderSelf: [], parents: parents)
            for l in 0..<layers {
                var c = [Float](), s = [Float]()
                c.reserveCapacity(rows * heads * S)
                s.reserveCapacity(rows * heads * (first + t + 1))
                let visible = first + t + 1  // position first + t sees positions 0...first + t
                for rh in 0..<(rows * heads) {
                    let query = rh * steps + t
                    c += cross[l][(query * S)..<(query * S + S)]
                    s += decoderSelf[l][(query * keys)..<(query * keys + visible)]
                }
                position.cross.append(c)
                position.decoderSelf.append(s)
            }
            positions.append(position)
        }
        pending = nil
    }

    /// The weights of live row `row`'s whole history, its source `sourceLength` long, with the
    /// encoder's self-attention of its sentence.
    func weights(row: Int, sourceLength: Int, encoderSelf: AttentionMatrices) -> AttentionWeights {
        let T = positions.count, S = sourcePaddedLength
        var cross = [Float](repeating: 0, count: layers * heads * T * sourceLength)
        var decoderSelf = [Float](repeating: 0, count: layers * heads * T * T)
        var r = row
        for t in stride(from: T - 1, through: 0, by: -1) {
            let position = positions[t]
            for l in 0..<layers {
                for h in 0..<heads {
                    let target = (l * heads + h) * T + t
                    let c = (r * heads + h) * S
                    for j in 0..<sourceLength { cross[target * sourceLength + j] = position.cross[l][c + j] }
                    let s = (r * heads + h) * (t + 1)
                    for j in 0...t { decoderSelf[target * T + j] = position.decoderSelf[l][s + j] }
                }
            }
            r = position.parents[r]
        }
        return AttentionWeights(
            cross: AttentionMatrices(layers: layers, heads: heads, rows: T, columns: sourceLength, values: cross),
            decoderSelf: AttentionMatrices(layers: layers, heads: heads, rows: T, columns: T, values: decoderSelf),
            encoderSelf: encoderSelf)
    }
}
