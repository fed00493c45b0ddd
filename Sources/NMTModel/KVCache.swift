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
///
/// The buffers themselves are a `KVStorage`, which a finished batch hands to the next (see
/// `DecodingBuffers`).
final class KVCache {
    let layers: Int
    let rows: Int
    let heads: Int
    let headDim: Int
    let maxCapacity: Int
    /// Positions a row's slots hold now; grows (by `reserve`) up to maxCapacity.
    var capacity: Int { storage.capacity }
    /// Positions filled so far.
    var length = 0
    /// Rows still decoding: 0..<liveRows.
    private(set) var liveRows: Int
    let storage: KVStorage
    var keys: [UnsafeMutablePointer<Float>] { storage.keys }
    var values: [UnsafeMutablePointer<Float>] { storage.values }
    /// [rows, maxCapacity]: the row whose slot holds each position of a row's history.
    private(set) var origins: UnsafeMutablePointer<Int32>
    private var spareOrigins: UnsafeMutablePointer<Int32>

    /// reusing: the buffers of an earlier cache, taken when they have the layers, width and rows
    /// this one needs (with their capacity, when larger than initialCapacity).
    init(layers: Int, rows: Int, liveRows: Int? = nil, heads: Int, headDim: Int, initialCapacity: Int, maxCapacity: Int,
         reusing earlier: KVStorage? = nil) {
        self.layers = layers
        self.rows = rows
        self.heads = heads
        self.headDim = headDim
        self.maxCapacity = maxCapacity
        self.liveRows = min(liveRows ?? rows, rows)
        let capacity = max(1, min(initialCapacity, maxCapacity))
        if let earlier, earlier.fits(layers: layers, rows: rows, width: heads * headDim) {
            earlier.grow(to: capacity, keeping: 0, of: 0)
            storage = earlier
        } else {
            storage = KVStorage(layers: layers, rows: rows, capacity: capacity, width: heads * headDim)
        }
        origins = .allocate(capacity: rows * maxCapacity)
        spareOrigins = .allocate(capacity: rows * maxCapacity)
    }

    deinit {
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
            storage.grow(to: min(maxCapacity, max(count, capacity * 2)), keeping: length, of: rows)
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

/// The buffers behind a `KVCache`: per layer, keys and values `[rows, capacity, width]`.
///
/// They outlive the cache: the next batch's cache takes them over, so that its slots are pages
/// the process has already. Row r's position t is then the same address in every batch, and as
/// live rows are always rows 0..<liveRows, the pages batches touch are the union of their shapes
/// (rows × the positions each reached).
final class KVStorage {
    let layers: Int
    let width: Int
    let rows: Int
    private(set) var capacity: Int
    private(set) var keys: [UnsafeMutablePointer<Float>]
    private(set) var values: [UnsafeMutablePointer<Float>]

    init(layers: Int, rows: Int, capacity: Int, width: Int) {
        self.layers = layers
        self.rows = rows
        self.capacity = capacity
        self.width = width
        let size = rows * capacity * width
        keys = (0..<layers).map { _ in .allocateAligned(size) }
        values = (0..<layers).map { _ in .allocateAligned(size) }
    }

    deinit {
        (keys + values).forEach { $0.deallocateAligned() }
    }

    func fits(layers: Int, rows: Int, width: Int) -> Bool {
        layers == self.layers && width == self.width && rows <= self.rows
    }

    /// Room for at least `newCapacity` positions per row, keeping positions ..<length of rows
    /// ..<keptRows.
    func grow(to newCapacity: Int, keeping length: Int, of keptRows: Int) {
        guard newCapacity > capacity else { return }
        let size = rows * newCapacity * width
        func grow(_ buffers: inout [UnsafeMutablePointer<Float>]) {
            for l in 0..<layers {
                let old = buffers[l]
                let new = UnsafeMutablePointer<Float>.allocateAligned(size)
                for r in 0..<min(keptRows, rows) where length > 0 {
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
}
