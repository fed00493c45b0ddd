/// Layer normalization over the last dimension: (x − mean) / √(var + ε) · γ + β.
struct LayerNorm: @unchecked Sendable {
    let gamma: UnsafePointer<Float>  // [size]
    let beta: UnsafePointer<Float>   // [size]
    let size: Int
    let epsilon: Float

    init(weight: WeightTensor, bias: WeightTensor, epsilon: Float) {
        gamma = weight.data
        beta = bias.data
        size = weight.shape[0]
        self.epsilon = epsilon
    }

    /// Normalizes `rows` rows of x: [rows, size] into y (which may be x).
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            VectorMath.layerNorm(x + r * size, gamma: gamma, beta: beta, epsilon: epsilon, into: y + r * size, count: size)
        }
    }
}
