/// A growable float buffer reused across calls, so decoding steps do not allocate; it starts on a
/// cache line (`allocateAligned`). Its floats are not initialized: every user writes what it reads
/// (the buffers go from batch to batch with stale contents anyway), and zeroing a grown buffer
/// touched pages of its doubled capacity that were never used.
final class ScratchBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(_ capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = .allocateAligned(self.capacity)
    }

    deinit { pointer.deallocateAligned() }

    /// The buffer with room for at least `count` floats; contents are kept only when no growth happens.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocateAligned()
            capacity = max(count, capacity * 2)
            pointer = .allocateAligned(capacity)
        }
        return pointer
    }
}
