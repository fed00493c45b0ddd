import CKernels
import Foundation

/// The threads that one model's matrix products and attention run on (CKernels' `nmt_pool`).
/// Each `TransformerModel` owns one, so models with different thread counts, or several models,
/// translate at the same time without sharing a process-wide pool; calls that share a model
/// take turns on its pool (a concurrent call runs its region on its own thread).
final class ThreadPool: @unchecked Sendable {
    /// Threads a region may use, the calling thread included.
    let count: Int
    let pool: OpaquePointer?

    init(threads: Int) {
        count = max(1, threads)
        pool = count > 1 ? nmt_pool_create(count) : nil
    }

    deinit { nmt_pool_destroy(pool) }

    /// The threads worth using for `work` multiply-adds: handing a region to a spinning pool
    /// thread costs well under a microsecond, about what 2^14 multiply-adds take.
    func forWork(_ work: Int) -> Int {
        work < 1 << 14 ? 1 : count
    }

    /// The default thread count: the cores this process may use (its CPU affinity, lowered by a
    /// cgroup CPU quota), so that a container or `taskset` gets a pool that fits it.
    static var defaultCount: Int { nmt_available_cores() }
}
