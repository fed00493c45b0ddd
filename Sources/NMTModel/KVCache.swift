/// Keys and values of every decoder self-attention layer for up to `rows` decoding rows (of which
/// the first `liveRows` decode; `select` may change how many, up to `rows`),
/// laid out `[layer][rows, capacity, heads × headDim]`: a position's heads side by side, as the
/// key and value projections write them, so that a decoding step's projections land here
/// directly (rows `rowStride` apart).
///
/// Beam search never copies keys or values. Slot (row r, position t) is written once, by live row
/// r at step t, and never changes; `origins[r][t]` names the row whose slot holds position t of
/// live row r's history. Selecting rows (beams taking over other beams, finished rows leaving)
/// only selects among these small tables, which attention reads to find each key. A live row
/// writes its new positions into its own slots: positions from `length` on have never been
/// written in any row's slots, so no history is overwritten whichever rows remain.
final class KVCache {
    let layers: Int
    let rows: Int
    let heads: Int
    let headDim: Int
    let maxCapacity: Int
    private(set) var capacity: Int
    /// Positions filled so far.
    var length = 0
    /// Rows still decoding: 0..<liveRows.
    private(set) var liveRows: Int
    private(set) var keys: [UnsafeMutablePointer<Float>]
    private(set) var values: [UnsafeMutablePointer<Float>]
    /// [rows, maxCapacity]: the row whose slot holds each position of a row's history.
    private(set) var origins: UnsafeMutablePointer<Int32>
    private var spareOrigins: UnsafeMutablePointer<Int32>

    init(layers: Int, rows: Int, liveRows: Int? = nil, heads: Int, headDim: Int, initialCapacity: Int, maxCapacity: Int) {
        self.layers = layers
        self.rows = rows
        self.heads = heads
        self.headDim = headDim
        self.maxCapacity = maxCapacity
        self.liveRows = min(liveRows ?? rows, rows)
        capacity = max(1, min(initialCapacity, maxCapacity))
        let size = rows * capacity * heads * headDim
        keys = (0..<layers).map { _ in .allocateAligned(size) }
        values = (0..<layers).map { _ in .allocateAligned(size) }
        origins = .allocate(capacity: rows * maxCapacity)
        spareOrigins = .allocate(capacity: rows * maxCapacity)
    }

    deinit {
        (keys + values).forEach { $0.deallocateAligned() }
        origins.deallocate()
        spareOrigins.deallocate()
    }

    /// Offset of (row, position) in a layer's buffer; head h's part starts h · headDim further.
    @inline(__always)
    func offset(row: Int, position: Int) -> Int { (row * capacity + position) * positionStride }

    /// Floats from one position of a row to the next.
    var positionStride: Int { heads * headDim }

    /// Floats from one row's slots to the next.
    var rowStride: Int { capacity * positionStride }

    /// Row r's origin table: [maxCapacity].
    @inline(__always)
    func origins(row: Int) -> UnsafePointer<Int32> { UnsafePointer(origins + row * maxCapacity) }

    /// Makes room for `count` positions in total and marks positions length..<count of every row
    /// as the row's own (the step about to be decoded writes them).
    func reserve(_ count: Int) throws(ModelError) {
        guard count <= maxCapacity else {
            throw .stateMismatch("the cache holds at most \(maxCapacity) positions, \(count) requested")
        }
        if count > capacity {
            let newCapacity = min(maxCapacity, max(count, capacity * 2))
            let width = positionStride, size = rows * newCapacity * width
            func grow(_ buffers: inout [UnsafeMutablePointer<Float>]) {
                for l in 0..<layers {
                    let old = buffers[l]
                    let new = UnsafeMutablePointer<Float>.allocateAligned(size)
                    for r in 0..<rows {
                        (new + r * newCapacity * width).update(from: old + r * capacity * width, count: length * width)
                    }
                    old.deallocateAligned()
                    buffers[l] = new
                }
            }
            grow(&keys)
            grow(&values)
            capacity = newCapacity
        }
        for r in 0..<liveRows {
            for t in length..<max(count, length) { origins[r * maxCapacity + t] = Int32(r) }
        }
    }

    /// Live row r takes the history of live row `sources[r]`; sources.count rows remain live. Only
    /// the origin tables move, rows × length integers.
    func select(_ sources: [Int]) {
        for (r, source) in sources.enumerated() {
            (spareOrigins + r * maxCapacity).update(from: origins + source * maxCapacity, count: length)
        }
        swap(&origins, &spareOrigins)
        liveRows = sources.count
    }
}
