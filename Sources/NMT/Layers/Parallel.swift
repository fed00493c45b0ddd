import Dispatch

/// Runs body(i) for i in 0..<count, split into contiguous chunks over up to `threads` threads.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelChunks(count, threads: threads) { range, _ in
        for i in range { body(i) }
    }
}

/// Splits 0..<count into up to `threads` contiguous ranges and runs body(range, chunkIndex) on
/// each in parallel; chunkIndex < threads selects per-thread scratch.
@inline(__always)
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>, Int) -> Void) {
    let chunks = min(max(threads, 1), count)
    if chunks <= 1 {
        if count > 0 { body(0..<count, 0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks touch disjoint data; callers guarantee it.
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            work.value((c * count / chunks)..<((c + 1) * count / chunks), c)
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
