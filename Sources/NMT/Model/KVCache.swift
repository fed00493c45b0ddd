/// Keys and values of every decoder self-attention layer for `rows` decoding rows,
/// laid out `[layer][rows, heads, capacity, headDim]` so that each (row, head) is contiguous.
/// Capacity grows by doubling up to `maxCapacity`; beam reordering gathers into a second
/// buffer that is then swapped in, so neither allocates per step.
final class KVCache {
    let layers: Int
    let rows: Int
    let heads: Int
    let headDim: Int
    let maxCapacity: Int
    private(set) var capacity: Int
    /// Positions filled so far.
    var length = 0
    private(set) var keys: [UnsafeMutablePointer<Float>]
    private(set) var values: [UnsafeMutablePointer<Float>]
    private var spareKeys: [UnsafeMutablePointer<Float>]
    private var spareValues: [UnsafeMutablePointer<Float>]

    init(layers: Int, rows: Int, heads: Int, headDim: Int, initialCapacity: Int, maxCapacity: Int) {
        self.layers = layers
        self.rows = rows
        self.heads = heads
        self.headDim = headDim
        self.maxCapacity = maxCapacity
        capacity = max(1, min(initialCapacity, maxCapacity))
        let size = rows * heads * capacity * headDim
        keys = (0..<layers).map { _ in .allocate(capacity: size) }
        values = (0..<layers).map { _ in .allocate(capacity: size) }
        spareKeys = (0..<layers).map { _ in .allocate(capacity: size) }
        spareValues = (0..<layers).map { _ in .allocate(capacity: size) }
    }

    deinit {
        (keys + values + spareKeys + spareValues).forEach { $0.deallocate() }
    }

    /// Offset of position 0 of (row, head) in a layer's buffer.
    @inline(__always)
    func offset(row: Int, head: Int) -> Int { (row * heads + head) * capacity * headDim }

    /// Makes room for `count` positions in total.
    func reserve(_ count: Int) throws(ModelError) {
        guard count > capacity else { return }
        guard count <= maxCapacity else {
            throw .stateMismatch("the cache holds at most \(maxCapacity) positions, \(count) requested")
        }
        let newCapacity = min(maxCapacity, max(count, capacity * 2))
        let size = rows * heads * newCapacity * headDim
        func grow(_ buffers: inout [UnsafeMutablePointer<Float>], keep: Bool) {
            for l in 0..<layers {
                let old = buffers[l]
                let new = UnsafeMutablePointer<Float>.allocate(capacity: size)
                if keep {
                    for rh in 0..<(rows * heads) {
                        (new + rh * newCapacity * headDim).update(from: old + rh * capacity * headDim,
                                                                  count: length * headDim)
                    }
                }
                old.deallocate()
                buffers[l] = new
            }
        }
        grow(&keys, keep: true)
        grow(&values, keep: true)
        grow(&spareKeys, keep: false)
        grow(&spareValues, keep: false)
        capacity = newCapacity
    }

    /// Row r takes the cache of row `sources[r]` (beam search reordering).
    func reorder(_ sources: [Int]) {
        if sources.elementsEqual(0..<rows) { return }
        let span = length * headDim
        let stride = capacity * headDim
        for l in 0..<layers {
            for r in 0..<rows {
                let from = sources[r]
                for h in 0..<heads {
                    (spareKeys[l] + (r * heads + h) * stride).update(from: keys[l] + (from * heads + h) * stride, count: span)
                    (spareValues[l] + (r * heads + h) * stride).update(from: values[l] + (from * heads + h) * stride, count: span)
                }
            }
        }
        swap(&keys, &spareKeys)
        swap(&values, &spareValues)
    }
}
