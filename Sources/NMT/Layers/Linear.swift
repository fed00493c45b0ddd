/// A fully connected layer, y = x·Wᵀ + b, with the weight in PyTorch's `[out, in]` layout.
struct Linear: @unchecked Sendable {
    let weight: UnsafePointer<Float>  // [outputSize, inputSize]
    let bias: UnsafePointer<Float>?   // [outputSize]
    let inputSize: Int
    let outputSize: Int

    init(weight: WeightTensor, bias: WeightTensor?) {
        self.weight = weight.data
        self.bias = bias?.data
        outputSize = weight.shape[0]
        inputSize = weight.shape[1]
    }

    /// x: [rows, inputSize] → y: [rows, outputSize]
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        if let bias {
            for r in 0..<rows { (y + r * outputSize).update(from: bias, count: outputSize) }
        }
        MatrixMultiply.transposed(x, rows: rows, weight: weight, outputSize: outputSize, inputSize: inputSize,
                                beta: bias == nil ? 0 : 1, into: y)
    }
}
