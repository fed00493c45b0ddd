#if canImport(Accelerate)
import Accelerate
#else
import COpenBLAS
#endif

/// The few BLAS calls the engine makes, row-major, on raw buffers.
enum BLAS {
    /// C[m, n] = alpha · A[m, k] · op(B) + beta · C, where op(B) is B[k, n], or B[n, k] transposed
    /// when `transposeB` (the PyTorch `Linear` weight layout `[out, in]`).
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
                    beta, c, blasInt(ldc))
    }

    /// y[m] = alpha · A[m, n] · x[n] + beta · y (A row-major): a product with one input row,
    /// which reads each weight once without GEMM's packing.
    @inline(__always)
    static func gemv(m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasInt(m), blasInt(n), alpha, a, blasInt(lda), x, 1, beta, y, 1)
    }

    /// y[rows, outputSize] = x[rows, inputSize] · W[outputSize, inputSize]ᵀ + beta · y, GEMV for a
    /// single row. The output columns are split over `Threads.count` threads, each running
    /// single-threaded BLAS on its own slice of W, so that a step reads every weight once.
    @inline(__always)
    static func multiplyTransposed(_ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
                                   outputSize: Int, inputSize: Int, beta: Float, into y: UnsafeMutablePointer<Float>) {
        let block = 64
        let blocks = (outputSize + block - 1) / block
        // Small products are not worth waking a second thread for.
        let threads = rows * outputSize * inputSize < 1 << 15 ? 1 : Threads.count
        parallelChunks(blocks, threads: threads) { range, _ in
            let start = range.lowerBound * block
            let n = min(range.upperBound * block, outputSize) - start
            if rows == 1 {
                gemv(m: n, n: inputSize, a: weight + start * inputSize, lda: inputSize, x: x, beta: beta, y: y + start)
            } else {
                gemm(m: rows, n: n, k: inputSize, a: x, lda: inputSize, b: weight + start * inputSize, ldb: inputSize,
                     transposeB: true, beta: beta, c: y + start, ldc: outputSize)
            }
        }
    }

    /// BLAS runs on the calling thread only: the engine does its own splitting (`Threads`).
    static let singleThreaded: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    #if canImport(Accelerate)
    @inline(__always) private static func blasInt(_ x: Int) -> Int32 { Int32(x) }
    #else
    @inline(__always) private static func blasInt(_ x: Int) -> blasint { blasint(x) }
    #endif
}
