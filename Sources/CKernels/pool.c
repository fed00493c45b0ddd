// A pool of worker threads that spin for a while before sleeping, for the engine's many short
// parallel regions: a decoding step of a small model is ~30 products of a few microseconds each,
// and waking a sleeping thread (futex, GCD) costs about as much as the product itself. Spinning
// workers pick a region up in well under a microsecond, as OpenMP's and CTranslate2's do.
#include "CKernels.h"

#include <pthread.h>
#include <stdatomic.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

enum { MAX_WORKERS = 255, SPINS_BEFORE_SLEEP = 1 << 16 };

static struct {
    pthread_mutex_t region;  // one parallel region at a time; a concurrent caller runs its own serially
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    atomic_size_t generation;  // bumped to start a region
    atomic_size_t pending;     // workers yet to finish the current region
    atomic_int sleepers;
    size_t workers;            // written under `region` only
    nmt_task task;
    void *context;
    size_t chunks;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

// Set on workers and on a caller inside a region: a nested region runs serially on that thread.
static _Thread_local int inside_region;

static void *worker(void *argument) {
    // 1...workers (the caller runs chunk 0), and the generation before the region it was made for.
    size_t index = (size_t)argument & 0xFF, seen = (size_t)argument >> 8;
    inside_region = 1;
    for (;;) {
        size_t spins = 0, now;
        while ((now = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        seen = now;
        if (index < pool.chunks) pool.task(pool.context, index);
        // Every worker acknowledges every region, so none can lag into the next one.
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
    return NULL;
}

static void run_serially(nmt_task task, void *context, size_t chunks) {
    for (size_t c = 0; c < chunks; c++) task(context, c);
}

void nmt_parallel(nmt_task task, void *context, size_t chunks) {
    if (chunks <= 1 || chunks > MAX_WORKERS + 1 || inside_region || pthread_mutex_trylock(&pool.region) != 0) {
        run_serially(task, context, chunks);
        return;
    }
    while (pool.workers < chunks - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        size_t argument = atomic_load(&pool.generation) << 8 | (pool.workers + 1);
        int failed = pthread_create(&thread, &attributes, worker, (void *)argument);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        pool.workers++;
    }
    if (pool.workers < chunks - 1) {  // no threads to be had: still correct, just serial
        pthread_mutex_unlock(&pool.region);
        run_serially(task, context, chunks);
        return;
    }
    pool.task = task;
    pool.context = context;
    pool.chunks = chunks;
    atomic_store_explicit(&pool.pending, pool.workers, memory_order_relaxed);
    atomic_fetch_add(&pool.generation, 1);  // sequentially consistent with the sleepers check below
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    inside_region = 1;
    task(context, 0);
    inside_region = 0;
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) != 0) cpu_relax();
    pthread_mutex_unlock(&pool.region);
}
