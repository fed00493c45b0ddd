// The engine's working memory: the glibc settings that keep freed memory for reuse, and float
// buffers that start on a cache line.
#define _GNU_SOURCE
#include "CKernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void nmt_reuse_freed_memory(void) {
#if defined(__GLIBC__)
    // A user who tunes malloc through the environment keeps their settings (GLIBC_TUNABLES
    // counts only when it names a malloc tunable: containers set it for other reasons too).
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
        (tunables && strstr(tunables, "glibc.malloc."))) {
        return;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

void nmt_return_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);  // every arena's free pages, not only the top of the main heap
#endif
}

float *nmt_alloc_floats(size_t count) {
    // malloc's pointer sits just before the aligned block.
    char *raw = malloc((count > 0 ? count : 1) * sizeof(float) + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t aligned = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    ((void **)aligned)[-1] = raw;
    return (float *)aligned;
}

void nmt_free_floats(float *p) {
    if (p) free(((void **)p)[-1]);
}
