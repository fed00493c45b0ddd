import CKernels

/// The hot loops over raw float buffers (softmax, attention, residuals, layer norm). They live in
/// C (Sources/CKernels) so that AVX2/FMA code is chosen at run time without build flags.
enum VectorMath {
    /// The largest of `count` values (−∞ for none).
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float { nmt_max(x, count) }

    /// y[i] += x[i]
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) { nmt_add(x, y, count) }

    /// One row of layer normalization; y may be x.
    @inline(__always)
    static func layerNorm(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                          epsilon: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        nmt_layer_norm(x, gamma, beta, epsilon, y, count)
    }
}
