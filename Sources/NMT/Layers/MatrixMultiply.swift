import CKernels

/// Every matrix product of the engine: y[rows, outputSize] = x[rows, inputSize] · Wᵀ + beta · y,
/// with W in PyTorch's `Linear` layout `[outputSize, inputSize]`, read in place from the model file.
enum MatrixMultiply {
    /// The output columns are split over threads (`Threads.forWork`), each on its own slice of W,
    /// in blocks of 64 rows of W.
    @inline(__always)
    static func transposed(_ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
                           outputSize: Int, inputSize: Int, beta: Float, into y: UnsafeMutablePointer<Float>) {
        let block = 64
        let blocks = (outputSize + block - 1) / block
        parallelChunks(blocks, threads: Threads.forWork(rows * outputSize * inputSize)) { range, _ in
            let start = range.lowerBound * block
            let n = min(range.upperBound * block, outputSize) - start
            nmt_matmul_transposed(x, rows, weight + start * inputSize, n, inputSize, beta, y + start, outputSize)
        }
    }
}
