import CKernels

/// A fully connected layer, y = x·Wᵀ + b, with the weight in PyTorch's `[out, in]` layout, read in
/// place from the model file. Products are split over threads by blocks of 64 output columns,
/// each thread on its own slice of W.
struct Linear: @unchecked Sendable {
    let weight: UnsafePointer<Float>  // [outputSize, inputSize]
    let bias: UnsafePointer<Float>?   // [outputSize]
    let inputSize: Int
    let outputSize: Int

    init(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputSize: Int, inputSize: Int) {
        self.weight = weight
        self.bias = bias
        self.outputSize = outputSize
        self.inputSize = inputSize
    }

    init(weight: WeightTensor, bias: WeightTensor?) {
        self.init(weight: weight.data, bias: bias?.data, outputSize: weight.shape[0], inputSize: weight.shape[1])
    }

    static let blockSize = 64
    var blocks: Int { (outputSize + Linear.blockSize - 1) / Linear.blockSize }

    /// x: [rows, inputSize] → y: [rows, outputSize]
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        parallelChunks(blocks, threads: Threads.forWork(rows * outputSize * inputSize)) { range, _ in
            columns(range, of: x, rows: rows, into: y)
        }
    }

    /// Three layers applied to the same input in one parallel region (attention's query, key and
    /// value projections): the threads meet once instead of three times.
    static func apply(_ a: Linear, _ b: Linear, _ c: Linear, to x: UnsafePointer<Float>, rows: Int,
                      into ya: UnsafeMutablePointer<Float>, _ yb: UnsafeMutablePointer<Float>,
                      _ yc: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        let work = rows * a.inputSize * (a.outputSize + b.outputSize + c.outputSize)
        parallelChunks(a.blocks + b.blocks + c.blocks, threads: Threads.forWork(work)) { range, _ in
            // The chunk's share of each layer's blocks, which are numbered one layer after the other.
            func share(of layer: Linear, first: Int, into y: UnsafeMutablePointer<Float>) {
                let (lower, upper) = (max(range.lowerBound - first, 0), min(range.upperBound - first, layer.blocks))
                if lower < upper { layer.columns(lower..<upper, of: x, rows: rows, into: y) }
            }
            share(of: a, first: 0, into: ya)
            share(of: b, first: a.blocks, into: yb)
            share(of: c, first: a.blocks + b.blocks, into: yc)
        }
    }

    /// The output columns of blocks `range`, for every row: bias, then x·Wᵀ added to it.
    @inline(__always)
    private func columns(_ range: Range<Int>, of x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let start = range.lowerBound * Linear.blockSize
        let count = min(range.upperBound * Linear.blockSize, outputSize) - start
        if let bias {
            for r in 0..<rows { (y + r * outputSize + start).update(from: bias + start, count: count) }
        }
        nmt_matmul_transposed(x, rows, weight + start * inputSize, count, inputSize, bias == nil ? 0 : 1,
                              y + start, outputSize)
    }
}
