import Foundation

/// How many threads one translation uses: matrix products are split by output columns and
/// attention by (row, head) over this many threads. BLAS itself runs single-threaded, so that its
/// own worker threads never compete with these. Set it once, before translating.
public enum Threads {
    nonisolated(unsafe) private static var value = ProcessInfo.processInfo.activeProcessorCount

    public static var count: Int {
        _ = BLAS.singleThreaded
        return value
    }

    /// The threads worth using for `work` multiply-adds: waking a second thread costs a few
    /// microseconds, more than small products take.
    static func forWork(_ work: Int) -> Int {
        work < 1 << 19 ? 1 : count
    }

    public static func set(_ count: Int) {
        _ = BLAS.singleThreaded
        value = max(1, count)
    }
}
