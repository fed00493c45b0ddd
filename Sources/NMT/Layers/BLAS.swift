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

    /// x[rows, inputSize] · W[outputSize, inputSize]ᵀ + beta · y, choosing GEMV for a single row.
    @inline(__always)
    static func multiplyTransposed(_ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>,
                                   outputSize: Int, inputSize: Int, beta: Float, into y: UnsafeMutablePointer<Float>) {
        if rows == 1 {
            gemv(m: outputSize, n: inputSize, a: weight, lda: inputSize, x: x, beta: beta, y: y)
        } else {
            gemm(m: rows, n: outputSize, k: inputSize, a: x, lda: inputSize, b: weight, ldb: inputSize,
                 transposeB: true, beta: beta, c: y, ldc: outputSize)
        }
    }

    /// Sets the number of threads BLAS uses inside one call.
    static func setThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(count))
        #endif
    }

    static var threads: Int {
        #if canImport(Accelerate)
        return 1
        #else
        return Int(openblas_get_num_threads())
        #endif
    }

    #if canImport(Accelerate)
    @inline(__always) private static func blasInt(_ x: Int) -> Int32 { Int32(x) }
    #else
    @inline(__always) private static func blasInt(_ x: Int) -> blasint { blasint(x) }
    #endif
}
