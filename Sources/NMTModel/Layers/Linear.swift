import CKernels
import NMTFormat

/// A fully connected layer, y = x·Wᵀ + b, with the weight in PyTorch's `[out, in]` layout, read in
/// place from the model file. Products run in CKernels (`nmt_products`): split over threads in
/// blocks of 16 output columns, each thread working through its own share of W, the same every
/// call (what it read last time may still be in its cache), and taking blocks from another's share
/// when it runs out.
struct Linear: @unchecked Sendable {
    let weight: MatrixWeights         // [outputSize, inputSize], f32 or int8
    let bias: UnsafePointer<Float>?   // [outputSize]
    let inputSize: Int
    let outputSize: Int

    init(weight: MatrixWeights, bias: UnsafePointer<Float>?, outputSize: Int, inputSize: Int) {
        self.weight = weight
        self.bias = bias
        self.outputSize = outputSize
        self.inputSize = inputSize
    }

    init(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outputSize: Int, inputSize: Int) {
        self.init(weight: .f32(weight, panels: nil), bias: bias, outputSize: outputSize, inputSize: inputSize)
    }

    init(_ names: WeightTable.Linear, weights: WeightStore) {
        self.init(weight: weights.matrix(names.weight), bias: weights.vector(names.bias),
                  outputSize: names.weight.shape[0], inputSize: names.weight.shape[1])
    }

    /// Blocks of 16 columns: the size of one row of block statistics.
    var blocks: Int { nmt_product_blocks(outputSize) }

    /// x: [rows, inputSize] → y: [rows, outputSize], then `activation` applied to y by each thread
    /// to the blocks it computed, while they are in its cache.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        activation: ModelConfig.Activation? = nil, on pool: ThreadPool) {
        var product = self.product(into: y)
        product.activation = activation?.kernel ?? NMT_IDENTITY
        run(product, on: x, rows: rows, pool: pool)
    }

    /// As `callAsFunction`, and for each row of y the statistics of its 16-column blocks
    /// (`nmt_block_statistics`), gathered while the block is in cache: blockMax and blockSum are
    /// [rows, blocks] (blockSum nil: the maxima only). The output projection uses them for
    /// log-softmax over the vocabulary and for its best tokens.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                        blockMax: UnsafeMutablePointer<Float>, blockSum: UnsafeMutablePointer<Float>?,
                        on pool: ThreadPool) {
        var product = self.product(into: y, ldy: ldy)
        (product.block_max, product.block_sum) = (blockMax, blockSum)
        run(product, on: x, rows: rows, pool: pool)
    }

    /// Three layers applied to the same input in one parallel region (attention's query, key and
    /// value projections): the threads meet once instead of three times. yb and yc may have rows
    /// `ldbc` apart (default: their width), so that a decoding step's keys and values land
    /// straight in their cache.
    static func apply(_ a: Linear, _ b: Linear, _ c: Linear, to x: UnsafePointer<Float>, rows: Int,
                      into ya: UnsafeMutablePointer<Float>, _ yb: UnsafeMutablePointer<Float>,
                      _ yc: UnsafeMutablePointer<Float>, ldbc: Int? = nil, on pool: ThreadPool) {
        guard rows > 0 else { return }
        var products = (a.product(into: ya), b.product(into: yb, ldy: ldbc), c.product(into: yc, ldy: ldbc))
        let work = rows * a.inputSize * (a.outputSize + b.outputSize + c.outputSize)
        withUnsafePointer(to: &products) {
            $0.withMemoryRebound(to: nmt_product.self, capacity: 3) {
                nmt_products(pool.pool, x, rows, a.inputSize, $0, 3, pool.forWork(work))
            }
        }
    }

    private func run(_ product: nmt_product, on x: UnsafePointer<Float>, rows: Int, pool: ThreadPool) {
        guard rows > 0 else { return }
        var product = product
        nmt_products(pool.pool, x, rows, inputSize, &product, 1, pool.forWork(rows * outputSize * inputSize))
    }

    private func product(into y: UnsafeMutablePointer<Float>, ldy: Int? = nil) -> nmt_product {
        var product = nmt_product(weight: nil, panels: nil, qweight: nil, qscale: nil, qsum: nil, bias: bias, y: y,
                                  n: outputSize, ldy: ldy ?? outputSize, activation: NMT_IDENTITY, block_max: nil,
                                  block_sum: nil)
        switch weight {
        case .f32(let values, let panels): (product.weight, product.panels) = (values, panels)
        case .i8(let values, let scales, let sums): (product.qweight, product.qscale, product.qsum) = (values, scales, sums)
        }
        return product
    }
}
