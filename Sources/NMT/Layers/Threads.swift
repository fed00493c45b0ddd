import Foundation

/// How many threads one translation uses: matrix products are split by output columns and
/// attention by (row, head) over this many threads (CKernels' pool). Set it once, before translating.
public enum Threads {
    nonisolated(unsafe) private static var value = ProcessInfo.processInfo.activeProcessorCount

    public static var count: Int { value }

    /// The threads worth using for `work` multiply-adds: handing a region to a spinning pool
    /// thread costs well under a microsecond, about what 2^14 multiply-adds take.
    static func forWork(_ work: Int) -> Int {
        work < 1 << 14 ? 1 : count
    }

    public static func set(_ count: Int) {
        value = max(1, count)
    }
}
