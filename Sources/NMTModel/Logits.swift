import CKernels

/// What one `TransformerModel.decode` call computes: for each decoded position (row-major
/// [rows, steps]) the logits over the target vocabulary and log Σ exp of them, so that
/// log p(token) = logit − normalizer without another pass over the vocabulary.
///
/// It views the decoder state's buffers, read-only: valid until the next `decode` on that state.
public struct Logits {
    /// Logits per block of `blockMaxima` (the product's statistics blocks, `nmt_product_blocks`).
    public static let blockSize = 16

    /// [positions, rowStride]: each row's first vocabularySize floats are its logits.
    public let values: UnsafeBufferPointer<Float>
    /// [positions]
    public let logNormalizers: UnsafeBufferPointer<Float>
    public let vocabularySize: Int
    /// Floats from one row of `values` to the next (≥ vocabularySize; the model pads its rows to
    /// whole cache lines).
    public let rowStride: Int
    /// [positions, blocks]: the largest logit of each block of `blockSize` tokens, or nil (then
    /// `blockMaximum` computes it), so that a search finds a row's best tokens without reading
    /// every logit.
    public let blockMaxima: UnsafeBufferPointer<Float>?
    /// Blocks of `blockSize` tokens per position (the last one may be shorter).
    public let blocks: Int

    public init(values: UnsafeBufferPointer<Float>, logNormalizers: UnsafeBufferPointer<Float>, vocabularySize: Int,
                blockMaxima: UnsafeBufferPointer<Float>? = nil, rowStride: Int? = nil) {
        let rowStride = rowStride ?? vocabularySize
        precondition(rowStride >= vocabularySize && values.count == logNormalizers.count * rowStride,
                     "logits and normalizers disagree")
        self.rowStride = rowStride
        let blocks = (vocabularySize + Self.blockSize - 1) / Self.blockSize
        precondition(blockMaxima.map { $0.count == logNormalizers.count * blocks } ?? true,
                     "logits and block maxima disagree")
        self.values = values
        self.logNormalizers = logNormalizers
        self.vocabularySize = vocabularySize
        self.blockMaxima = blockMaxima
        self.blocks = blocks
    }

    /// Decoded positions (rows × steps).
    public var positions: Int { logNormalizers.count }

    /// The logits of one position: [vocabularySize].
    @inlinable
    public func row(_ position: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: values[(position * rowStride)..<(position * rowStride + vocabularySize)])
    }

    /// Every position's logits, [positions × vocabularySize], without the rows' padding.
    public func allRows() -> [Float] {
        (0..<positions).flatMap { row($0) }
    }

    /// The largest logit among tokens block · blockSize ..< (block + 1) · blockSize of a position.
    @inlinable
    public func blockMaximum(position: Int, block: Int) -> Float {
        if let blockMaxima { return blockMaxima[position * blocks + block] }
        let start = block * Self.blockSize
        return nmt_max(values.baseAddress! + position * rowStride + start,
                       min(Self.blockSize, vocabularySize - start))
    }

    /// The first block from `block` on whose maximum is not ≤ `limit` (a NaN counts as above), or
    /// `blocks` if there is none: the blocks before it hold no logit above `limit`. A vector scan
    /// of the product's block maxima; without them, `block` itself.
    @inlinable
    public func firstBlock(position: Int, from block: Int, above limit: Float) -> Int {
        guard let blockMaxima, block < blocks else { return block }
        return block + nmt_first_above(blockMaxima.baseAddress! + position * blocks + block, blocks - block, limit)
    }

    /// The first token with the largest logit at a position (as torch.argmax picks it): the first
    /// block whose maximum is the row's, then the first token of it that has that value.
    public func bestToken(position: Int) -> Int {
        var best = 0, highest = -Float.infinity
        for b in 0..<blocks {
            let m = blockMaximum(position: position, block: b)
            if m > highest { (best, highest) = (b, m) }
        }
        let start = best * Self.blockSize, logits = row(position)
        for v in start..<min(start + Self.blockSize, vocabularySize) where logits[v] == highest { return v }
        return start  // a row of NaN
    }

    /// log p(token) at a position.
    @inlinable
    public func logProbability(position: Int, token: Int) -> Float {
        values[position * rowStride + token] - logNormalizers[position]
    }
}
