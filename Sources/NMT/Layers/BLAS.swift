import CKernels
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

    /// y[rows, outputSize] = x[rows, inputSize] · W[outputSize, inputSize]ᵀ + beta · y.
    /// The output columns are split over `Threads.count` threads, each on its own slice of W. Up to
    /// `smallRows` input rows (greedy and beam decoding of one sentence) go through a kernel that
    /// streams each weight once with no packing; more rows go to BLAS GEMM.
    @inline(__always)
    static func multiplyTransposed(_ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
                                   outputSize: Int, inputSize: Int, beta: Float, into y: UnsafeMutablePointer<Float>) {
        let block = 64
        let blocks = (outputSize + block - 1) / block
        let threads = Threads.forWork(rows * outputSize * inputSize)
        parallelChunks(blocks, threads: threads) { range, _ in
            let start = range.lowerBound * block
            let n = min(range.upperBound * block, outputSize) - start
            if rows <= smallRows {
                nmt_matmul_small(x, rows, weight + start * inputSize, n, inputSize, beta, y + start, outputSize)
            } else {
                gemm(m: rows, n: n, k: inputSize, a: x, lda: inputSize, b: weight + start * inputSize, ldb: inputSize,
                     transposeB: true, beta: beta, c: y + start, ldc: outputSize)
            }
        }
    }

    static let smallRows = 8

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
