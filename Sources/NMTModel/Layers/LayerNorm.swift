import NMTFormat

/// Layer normalization over the last dimension: (x − mean) / √(var + ε) · γ + β.
struct LayerNorm: @unchecked Sendable {
    let gamma: UnsafePointer<Float>  // [size]
    let beta: UnsafePointer<Float>   // [size]
    let size: Int
    let epsilon: Float

    init(gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, size: Int, epsilon: Float) {
        self.gamma = gamma
        self.beta = beta
        self.size = size
        self.epsilon = epsilon
    }

    init(_ names: WeightTable.Norm, weights: WeightStore) {
        self.init(gamma: weights.vector(names.weight), beta: weights.vector(names.bias),
                  size: names.weight.shape[0], epsilon: weights.file.config.layerNormEpsilon)
    }

    /// Normalizes `rows` rows of x: [rows, size] into y (which may be x).
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            VectorMath.layerNorm(x + r * size, gamma: gamma, beta: beta, epsilon: epsilon, into: y + r * size, count: size)
        }
    }
}
