import CKernels

/// Runs body(i) for i in 0..<count, split into contiguous chunks over up to `threads` threads.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelChunks(count, threads: threads) { range, _ in
        for i in range { body(i) }
    }
}

/// Splits 0..<count into up to `threads` contiguous ranges and runs body(range, chunkIndex) on
/// each in parallel (CKernels' spinning thread pool); chunkIndex < threads selects per-thread scratch.
@inline(__always)
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>, Int) -> Void) {
    let chunks = min(max(threads, 1), count)
    if chunks <= 1 {
        if count > 0 { body(0..<count, 0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // The chunks touch disjoint data; callers guarantee it.
        var job = ParallelJob(count: count, chunks: chunks, body: body)
        withUnsafeMutablePointer(to: &job) { job in
            nmt_parallel({ context, chunk in
                let job = context!.assumingMemoryBound(to: ParallelJob.self)
                let (count, chunks) = (job.pointee.count, job.pointee.chunks)
                job.pointee.body((chunk * count / chunks)..<((chunk + 1) * count / chunks), chunk)
            }, job, chunks)
        }
    }
}

private struct ParallelJob {
    let count: Int
    let chunks: Int
    let body: (Range<Int>, Int) -> Void
}
