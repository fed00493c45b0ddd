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

    /// Row r takes the cache of row `sources[r]` (beam search reordering). Only rows that change
    /// are written. A source that is itself overwritten is first saved to the spare buffer; the
    /// others are copied straight from where they are.
    func reorder(_ sources: [Int]) {
        let changed = (0..<rows).filter { sources[$0] != $0 }
        guard !changed.isEmpty else { return }
        let overwritten = Set(changed)
        let saved = Set(changed.map { sources[$0] }).intersection(overwritten)
        let span = length * headDim
        let stride = capacity * headDim
        // The 2 · layers buffers are independent: one per parallel chunk.
        let (keys, values, spareKeys, spareValues) = (keys, values, spareKeys, spareValues)
        parallelFor(2 * layers, threads: Threads.forWork(changed.count * heads * span * 2 * layers)) { buffer in
            let l = buffer / 2
            let (live, spare) = buffer % 2 == 0 ? (keys[l], spareKeys[l]) : (values[l], spareValues[l])
            for s in saved {
                for h in 0..<heads {
                    (spare + (s * heads + h) * stride).update(from: live + (s * heads + h) * stride, count: span)
                }
            }
            for r in changed {
                let source = saved.contains(sources[r]) ? spare : live
                for h in 0..<heads {
                    (live + (r * heads + h) * stride).update(from: source + (sources[r] * heads + h) * stride,
                                                             count: span)
                }
            }
        }
    }
}
