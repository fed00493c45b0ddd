import CKernels

extension UnsafeMutablePointer where Pointee == Float {
    /// Uninitialized room for `count` floats starting on a 64-byte boundary (a cache line, one
    /// 512-bit vector). Rows of activations, logits and keys whose widths are multiples of 16
    /// floats then start on line boundaries, so the kernels' 16-float stores and loads never
    /// split across two lines. Free it with `deallocateAligned()`.
    static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Float> {
        guard let pointer = nmt_alloc_floats(count) else { fatalError("out of memory for \(count) floats") }
        return pointer
    }

    /// Frees memory from `allocateAligned`.
    func deallocateAligned() {
        nmt_free_floats(self)
    }
}
