#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fixed sinusoidal position vectors. The angle for position p and pair i is
/// p / 10000^(2i / dModel), evaluated in double precision like Hugging Face's numpy table and
/// rounded to Float. Vectors are computed when needed (once per position per call), so a model's
/// `max_positions` costs no memory up front.
struct PositionalEncoding: Sendable {
    let dModel: Int
    let layout: ModelConfig.PositionLayout
    /// 10000^(2i / dModel) for each pair i.
    private let denominators: [Double]

    init(dModel: Int, layout: ModelConfig.PositionLayout) {
        self.dModel = dModel
        self.layout = layout
        denominators = (0..<(dModel / 2)).map { pow(10000, Double(2 * $0) / Double(dModel)) }
    }

    /// Writes the vectors of positions first..<first+count into out: [count, dModel].
    func fill(from first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let half = dModel / 2
        for k in 0..<count {
            let row = out + k * dModel
            let p = Double(first + k)
            for i in 0..<half {
                let angle = p / denominators[i]  // as numpy computes it, so that angles round identically
                switch layout {
                case .halves:
                    row[i] = Float(sin(angle))
                    row[half + i] = Float(cos(angle))
                case .interleaved:
                    row[2 * i] = Float(sin(angle))
                    row[2 * i + 1] = Float(cos(angle))
                }
            }
        }
    }

    func vector(at position: Int) -> [Float] {
        var v = [Float](repeating: 0, count: dModel)
        v.withUnsafeMutableBufferPointer { fill(from: position, count: 1, into: $0.baseAddress!) }
        return v
    }
}
