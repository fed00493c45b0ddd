#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fixed sinusoidal position vectors, computed once per model.
/// Angle for position p and pair i: p / 10000^(2i / dModel), evaluated in double precision like
/// Hugging Face's numpy table, then rounded to Float.
struct PositionalEncoding: Sendable {
    let table: [Float]  // [maxPositions, dModel]
    let dModel: Int
    let maxPositions: Int

    init(maxPositions: Int, dModel: Int, layout: ModelConfig.PositionLayout) {
        self.dModel = dModel
        self.maxPositions = maxPositions
        let half = dModel / 2
        var table = [Float](repeating: 0, count: maxPositions * dModel)
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(p) / pow(10000, Double(2 * i) / Double(dModel))
                switch layout {
                case .halves:
                    table[p * dModel + i] = Float(sin(angle))
                    table[p * dModel + half + i] = Float(cos(angle))
                case .interleaved:
                    table[p * dModel + 2 * i] = Float(sin(angle))
                    table[p * dModel + 2 * i + 1] = Float(cos(angle))
                }
            }
        }
        self.table = table
    }

    func vector(at position: Int) -> ArraySlice<Float> {
        table[(position * dModel)..<((position + 1) * dModel)]
    }
}
