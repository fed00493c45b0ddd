import CKernels

/// The process's memory allocator, tuned for translating batch after batch.
public enum Allocator {
    /// Lets glibc's malloc serve blocks up to 32 MiB from its heap and keep up to 128 MiB of freed
    /// memory for reuse, instead of mapping each large block afresh and returning it when freed.
    ///
    /// Each batch allocates its cache, scratch and logits anew (megabytes); by default glibc maps
    /// such blocks from the kernel and unmaps them on free, so every batch pays page faults for
    /// memory it just gave back, on the thread that drives the batch. On the 1,000 test lines with
    /// tiny.bin, greedy: 79,000–89,000 faults, 0.16–0.24 s of system time and 1.73–1.77 s wall;
    /// with this, 11,700 faults, 0.02 s and 1.62–1.67 s. The cost: memory freed after a peak is
    /// not returned to the system (peak RSS 98 MB instead of 90 MB there). Process-wide, so the
    /// library never calls it itself: the `translate` and `translate-server` commands do, at
    /// start. Does nothing on other C libraries, nor when the environment already tunes glibc's
    /// malloc (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, or `glibc.malloc.*` in
    /// `GLIBC_TUNABLES`).
    public static func reuseFreedMemory() {
        nmt_reuse_freed_memory()
    }

    /// Hands the free pages of every malloc heap back to the system (glibc's `malloc_trim`;
    /// nothing on other C libraries): after `reuseFreedMemory`, what a process frees stays with it
    /// otherwise. Process-wide; `translate-server` calls it when it has been idle
    /// (`--release-memory-after`), after `Translator.releaseKeptBuffers()`.
    public static func returnFreeMemory() {
        nmt_return_free_memory()
    }
}
