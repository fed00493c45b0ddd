import NMTFormat

/// The position-wise feed-forward block: fc2(activation(fc1(x))).
struct FeedForward: Sendable {
    let fc1: Linear  // [ffnDim, dModel]
    let fc2: Linear  // [dModel, ffnDim]
    let activation: ModelConfig.Activation

    init(fc1: WeightTable.Linear, fc2: WeightTable.Linear, weights: WeightStore) {
        self.fc1 = Linear(fc1, weights: weights)
        self.fc2 = Linear(fc2, weights: weights)
        activation = weights.file.config.activation
    }

    /// x: [rows, dModel] → y: [rows, dModel]; hidden: scratch of [rows, ffnDim].
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, hidden: UnsafeMutablePointer<Float>,
                        into y: UnsafeMutablePointer<Float>, on pool: ThreadPool) {
        fc1(x, rows: rows, into: hidden, activation: activation, on: pool)
        fc2(hidden, rows: rows, into: y, on: pool)
    }
}
