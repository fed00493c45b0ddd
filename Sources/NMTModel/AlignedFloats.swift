extension UnsafeMutablePointer where Pointee == Float {
    /// Uninitialized room for `count` floats starting on a 64-byte boundary (a cache line, one
    /// 512-bit vector). Rows of activations, logits and keys whose widths are multiples of 16
    /// floats then start on line boundaries, so the kernels' 16-float stores and loads never
    /// split across two lines. Free it with `deallocate()`.
    static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }
}
