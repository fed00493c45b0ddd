import NMTFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fixed sinusoidal position vectors. The angle for position p and pair i is
/// p / 10000^(2i / dModel), evaluated in double precision like Hugging Face's numpy table and
/// rounded to Float. The first `tabulated` positions (those of almost every sentence) are computed
/// once, when the model loads, so that a decoding step copies its position vector instead of
/// evaluating dModel sines and cosines; later positions are computed when needed.
struct PositionalEncoding: Sendable {
    let dModel: Int
    let layout: ModelConfig.PositionLayout
    /// 10000^(2i / dModel) for each pair i.
    private let denominators: [Double]
    /// [tabulated, dModel]
    private let table: [Float]
    private let tabulated: Int

    init(dModel: Int, layout: ModelConfig.PositionLayout, tabulated: Int = 256) {
        self.dModel = dModel
        self.layout = layout
        let denominators = (0..<(dModel / 2)).map { pow(10000, Double(2 * $0) / Double(dModel)) }
        self.denominators = denominators
        self.tabulated = tabulated
        var table = [Float](repeating: 0, count: tabulated * dModel)
        table.withUnsafeMutableBufferPointer {
            Self.compute(from: 0, count: tabulated, dModel: dModel, layout: layout, denominators: denominators,
                         into: $0.baseAddress!)
        }
        self.table = table
    }

    /// Writes the vectors of positions first..<first+count into out: [count, dModel].
    func fill(from first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let fromTable = max(0, min(count, tabulated - first))
        if fromTable > 0 {
            table.withUnsafeBufferPointer {
                out.update(from: $0.baseAddress! + first * dModel, count: fromTable * dModel)
            }
        }
        if fromTable < count {
            Self.compute(from: first + fromTable, count: count - fromTable, dModel: dModel, layout: layout,
                         denominators: denominators, into: out + fromTable * dModel)
        }
    }

    private static func compute(from first: Int, count: Int, dModel: Int, layout: ModelConfig.PositionLayout,
                                denominators: [Double], into out: UnsafeMutablePointer<Float>) {
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
