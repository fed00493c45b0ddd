import CKernels
import Dispatch
import NMTFormat

/// The number format the matrix products compute in.
public enum ComputeType: String, Sendable, CaseIterable {
    /// Each matrix as the file stores it: f32 (and f16 widened to f32) or i8.
    case auto
    /// 32-bit floats: i8 matrices are dequantized when the model loads.
    case f32
    /// int8 weights (one scale per output row) and int8 activations (one scale per row, computed
    /// as they are used), int32 sums: f32 and f16 matrices are quantized when the model loads,
    /// as CTranslate2's `compute_type="int8"` does.
    case i8
}

/// A weight matrix [rows, columns] as the products read it.
enum MatrixWeights: @unchecked Sendable {
    /// panels: the same matrix packed for the AVX2 and AVX-512 product kernels (nmt_pack_panels),
    /// when this process runs one of them.
    case f32(UnsafePointer<Float>, panels: UnsafePointer<Float>?)
    /// values[r, c] / scales[r] are the weights; rowSums[r] = Σ_c values[r, c] (nmt_i8_row_sums).
    case i8(values: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rowSums: UnsafePointer<Int32>)
}

/// The model's weights in the compute type asked for: read in place from the file where they are
/// stored that way, converted once at load otherwise (into buffers this store owns).
final class WeightStore: @unchecked Sendable {
    let file: ModelFile
    let computeType: ComputeType
    private var owned: [UnsafeMutableRawPointer] = []
    private var matrices: [String: MatrixWeights] = [:]  // a tied matrix is converted once

    init(file: ModelFile, computeType: ComputeType) {
        self.file = file
        self.computeType = computeType
    }

    deinit { owned.forEach { $0.deallocate() } }

    /// A vector (bias, layer norm): always floats.
    func vector(_ entry: WeightTable.Entry) -> UnsafePointer<Float> {
        // Vectors are f32 or f16 (widened) by the weight table's dtype rules.
        file.tensor(entry).floats!
    }

    /// inProducts: the matrix is a layer's weight (f32 ones get panels); false for a table that
    /// is only looked up (an untied embedding).
    func matrix(_ entry: WeightTable.Entry, inProducts: Bool = true) -> MatrixWeights {
        var result = matrices[entry.name] ?? converted(entry)
        if inProducts, case .f32(let values, nil) = result,
           let panels = panels(of: values, rows: entry.shape[0], columns: entry.shape[1]) {
            result = .f32(values, panels: panels)
            file.releasePages(of: entry)  // the products read the panels; the stored copy only for lookups
        }
        matrices[entry.name] = result
        return result
    }

    private func converted(_ entry: WeightTable.Entry) -> MatrixWeights {
        let rows = entry.shape[0], columns = entry.shape[1]
        let result: MatrixWeights
        switch (file.tensor(entry).values, computeType) {
        case (.float(let values), .auto), (.float(let values), .f32):
            result = .f32(values, panels: nil)
        case (.float(let values), .i8):
            let quantized = allocate(Int8.self, rows * columns), scales = allocate(Float.self, rows)
            quantize(values, rows: rows, columns: columns, into: quantized, scales: scales)
            result = .i8(values: quantized, scales: scales, rowSums: rowSums(quantized, rows: rows, columns: columns))
        case (.int8(let values, let scales), .auto), (.int8(let values, let scales), .i8):
            result = .i8(values: values, scales: scales, rowSums: rowSums(values, rows: rows, columns: columns))
        case (.int8(let values, let scales), .f32):
            let floats = allocate(Float.self, rows * columns)
            for r in 0..<rows {
                let inverse = 1 / scales[r]
                for c in 0..<columns { floats[r * columns + c] = Float(values[r * columns + c]) * inverse }
            }
            result = .f32(floats, panels: nil)
        }
        return result
    }

    /// Row r of a matrix as floats (an embedding lookup), into out[0..<columns].
    static func row(_ r: Int, of matrix: MatrixWeights, columns: Int, into out: UnsafeMutablePointer<Float>) {
        switch matrix {
        case .f32(let values, _):
            out.update(from: values + r * columns, count: columns)
        case .i8(let values, let scales, _):
            let inverse = 1 / scales[r]
            for c in 0..<columns { out[c] = Float(values[r * columns + c]) * inverse }
        }
    }

    /// The matrix packed in panels for the AVX2 and AVX-512 product kernels, if this process runs
    /// one: a second copy of the f32 weights (the stored layout stays for embedding lookups and
    /// for threads capped below AVX2), for ~1.35× faster products on a Zen 5 core with AVX-512
    /// and the same bits with AVX2 (docs/PERFORMANCE.md).
    private func panels(of values: UnsafePointer<Float>, rows: Int, columns: Int) -> UnsafePointer<Float>? {
        guard nmt_panels_preferred() != 0 else { return nil }
        let panels = allocate(Float.self, nmt_panel_floats(rows, columns))
        // Large matrices in pieces on every core: the copy's page faults are most of the cost.
        let count = (rows + 15) / 16, pieces = rows * columns >= 1 << 16 ? min(count, ThreadPool.defaultCount) : 1
        nonisolated(unsafe) let source = values, target = panels  // disjoint pieces of each
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            let first = count * piece / pieces, end = count * (piece + 1) / pieces  // panels first ..< end
            nmt_pack_panels(source + 16 * first * columns, min(rows, 16 * end) - 16 * first, columns,
                            target + 16 * first * columns)
        }
        return UnsafePointer(panels)
    }

    /// Symmetric per-row quantization, the same as activations get (nmt_quantize_rows).
    private func quantize(_ values: UnsafePointer<Float>, rows: Int, columns: Int,
                          into out: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>) {
        nmt_quantize_rows(values, rows, columns, out, scales)
    }

    private func rowSums(_ values: UnsafePointer<Int8>, rows: Int, columns: Int) -> UnsafePointer<Int32> {
        let sums = allocate(Int32.self, rows)
        nmt_i8_row_sums(values, rows, columns, sums)
        return UnsafePointer(sums)
    }

    private func allocate<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
        owned.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
