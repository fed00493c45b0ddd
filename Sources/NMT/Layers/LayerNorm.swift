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
        let n = Float(size)
        for r in 0..<rows {
            let row = x + r * size
            let out = y + r * size
            var sum: Float = 0
            for i in 0..<size { sum += row[i] }
            let mean = sum / n
            var squares: Float = 0
            for i in 0..<size {
                let c = row[i] - mean
                squares += c * c
            }
            let inverse = 1 / (squares / n + epsilon).squareRoot()
            for i in 0..<size { out[i] = (row[i] - mean) * inverse * gamma[i] + beta[i] }
        }
    }
}
