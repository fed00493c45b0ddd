import Synchronization

/// The working memory of one encode-and-decode: the layers' scratch, the decoder's inputs,
/// logits and their statistics, the cross-attention keys and values, and the key/value cache's
/// buffers (`KVStorage`).
///
/// A model keeps the buffers of its finished calls for its next ones (`BufferRecycler`), so that
/// each worker translates batch after batch in the same memory, grown to the largest batch it has
/// seen. Freed to malloc instead, they came back in other sizes at other places of heaps that
/// fragmented: a beam-4 run's peak memory grew with its input (1,000 lines 230 MB, 10,000 lines
/// 261–447 MB from run to run, 100,000 lines 382 MB).
final class DecodingBuffers: @unchecked Sendable {  // one call at a time: handed over under the recycler's lock
    let workspace = LayerWorkspace()
    let x = ScratchBuffer(), logits = ScratchBuffer(), positions = ScratchBuffer()
    let blockMax = ScratchBuffer(), blockSum = ScratchBuffer(), normalizers = ScratchBuffer()
    /// The encoder output through one projection, on its way to `crossAttention`.
    let projected = ScratchBuffer()
    /// Per decoder layer: its cross-attention keys and values.
    private var crossAttention: [(keys: ScratchBuffer, values: ScratchBuffer)] = []
    /// The last cache's buffers, for the next cache (`keyValueCache`).
    private var keysAndValues: KVStorage?

    /// A key/value cache on the last cache's buffers when they have its layers, width and rows;
    /// else on new ones, the old freed first so that malloc can place the new over their pages (a
    /// worker's first batch, its longest sentences and fewer of them, left 30 MB behind). Its
    /// buffers are then the ones kept for the next cache.
    func keyValueCache(layers: Int, rows: Int, liveRows: Int, heads: Int, headDim: Int, initialCapacity: Int,
                       maxCapacity: Int) -> KVCache {
        if keysAndValues?.fits(layers: layers, rows: rows, width: heads * headDim) == false { keysAndValues = nil }
        let cache = KVCache(layers: layers, rows: rows, liveRows: liveRows, heads: heads, headDim: headDim,
                            initialCapacity: initialCapacity, maxCapacity: maxCapacity, reusing: keysAndValues)
        keysAndValues = cache.storage
        return cache
    }

    func crossAttention(layer: Int) -> (keys: ScratchBuffer, values: ScratchBuffer) {
        while crossAttention.count <= layer { crossAttention.append((ScratchBuffer(), ScratchBuffer())) }
        return crossAttention[layer]
    }
}

/// Buffers of finished calls, kept for the next (see `DecodingBuffers`): at most `limit` sets, as
/// many as calls ran at the same time on one model, up to that.
final class BufferRecycler: Sendable {
    private let spares = Mutex<[DecodingBuffers]>([])
    private let limit: Int

    init(limit: Int = 2) {
        self.limit = limit
    }

    /// A spare set of buffers, or a new one.
    func take() -> DecodingBuffers {
        spares.withLock { $0.popLast() } ?? DecodingBuffers()
    }

    /// Drops the spare sets (sets in use come back as usual).
    func releaseSpares() {
        spares.withLock { $0.removeAll() }
    }

    /// Keeps `buffers` for a later `take`, unless `limit` sets are kept already.
    func give(_ buffers: DecodingBuffers) {
        spares.withLock { spares in
            if spares.count < limit { spares.append(buffers) }
        }
    }
}
