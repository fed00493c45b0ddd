// A pool of worker threads that spin for a while before sleeping, for the engine's many short
// parallel regions: a decoding step of a small model is ~30 products of a few microseconds each,
// and waking a sleeping thread (futex, GCD) costs about as much as the product itself. Spinning
// workers pick a region up in well under a microsecond, as OpenMP's and CTranslate2's do.
#include "CKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

enum { MAX_WORKERS = 255, SPINS_BEFORE_SLEEP = 1 << 16 };

// One pool per owner (a Translator): pools of different owners run their regions at the same
// time; callers sharing a pool take turns, a concurrent caller running its region serially.
struct nmt_pool {
    pthread_mutex_t region;  // one parallel region at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    atomic_size_t generation;  // bumped to start a region (or to stop the workers)
    atomic_size_t pending;     // workers yet to finish the current region
    atomic_int sleepers;
    atomic_int stopping;
    size_t threads;            // the most threads a region may use, the caller included
    size_t workers;            // started so far; written under `region` only
    pthread_t handles[MAX_WORKERS];
    nmt_task task;
    void *context;
    size_t chunks;
};

// Set on workers and on a caller inside a region: a nested region runs serially on that thread.
static _Thread_local int inside_region;

struct worker_start {
    nmt_pool *pool;
    size_t index;  // 1...workers (the caller runs chunk 0)
    size_t seen;   // the generation before the region it was made for
};

static void *worker(void *argument) {
    struct worker_start start = *(struct worker_start *)argument;
    free(argument);
    nmt_pool *pool = start.pool;
    size_t seen = start.seen;
    inside_region = 1;
    for (;;) {
        size_t spins = 0, now;
        while ((now = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->sleep_lock);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->generation) == seen) pthread_cond_wait(&pool->wake, &pool->sleep_lock);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->sleep_lock);
        }
        seen = now;
        if (atomic_load(&pool->stopping)) return NULL;
        if (start.index < pool->chunks) pool->task(pool->context, start.index);
        // Every worker acknowledges every region, so none can lag into the next one.
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

nmt_pool *nmt_pool_create(size_t threads) {
    nmt_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pthread_mutex_init(&pool->region, NULL);
    pthread_mutex_init(&pool->sleep_lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = threads < 1 ? 1 : threads > MAX_WORKERS + 1 ? MAX_WORKERS + 1 : threads;
    return pool;
}

size_t nmt_pool_threads(const nmt_pool *pool) { return pool ? pool->threads : 1; }

static void wake_sleepers(nmt_pool *pool) {
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->sleep_lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleep_lock);
    }
}

void nmt_pool_destroy(nmt_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->region);  // no region in flight
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_mutex_lock(&pool->sleep_lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
    for (size_t w = 0; w < pool->workers; w++) pthread_join(pool->handles[w], NULL);
    pthread_mutex_unlock(&pool->region);
    pthread_mutex_destroy(&pool->region);
    pthread_mutex_destroy(&pool->sleep_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}

static void run_serially(nmt_task task, void *context, size_t chunks) {
    for (size_t c = 0; c < chunks; c++) task(context, c);
}

void nmt_parallel(nmt_pool *pool, nmt_task task, void *context, size_t chunks) {
    if (!pool || chunks <= 1 || chunks > pool->threads || inside_region || pthread_mutex_trylock(&pool->region) != 0) {
        run_serially(task, context, chunks);
        return;
    }
    while (pool->workers < chunks - 1) {
        struct worker_start *start = malloc(sizeof *start);
        if (!start) break;
        *start = (struct worker_start){pool, pool->workers + 1, atomic_load(&pool->generation)};
        if (pthread_create(&pool->handles[pool->workers], NULL, worker, start) != 0) {
            free(start);
            break;
        }
        pool->workers++;
    }
    if (pool->workers < chunks - 1) {  // no threads to be had: still correct, just serial
        pthread_mutex_unlock(&pool->region);
        run_serially(task, context, chunks);
        return;
    }
    pool->task = task;
    pool->context = context;
    pool->chunks = chunks;
    atomic_store_explicit(&pool->pending, pool->workers, memory_order_relaxed);
    atomic_fetch_add(&pool->generation, 1);  // sequentially consistent with the sleepers check below
    wake_sleepers(pool);
    inside_region = 1;
    task(context, 0);
    inside_region = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) cpu_relax();
    pthread_mutex_unlock(&pool->region);
}

// Claimed regions: thread c owns the c-th contiguous share of 0..<count and works through it
// front to back in shrinking pieces; a thread that runs out takes pieces from the back of the
// others' shares. Each thread keeps the same share step after step (so its weights stay in its
// caches), and a thread slowed by a neighbour on its core gives up its tail instead of holding up
// the region. A share is one 64-bit word, front and back 32 bits each, on its own cache line.
typedef struct {
    _Alignas(64) _Atomic uint64_t range;
} share;

struct claims {
    nmt_range_task task;
    void *context;
    size_t threads;
    share *shares;  // [threads]
};

static inline uint64_t pack(uint64_t front, uint64_t back) { return front << 32 | back; }

// Takes a piece off share s: from the front (its owner) or from the back (anyone else).
static int take(share *s, int from_front, size_t *begin, size_t *end) {
    uint64_t range = atomic_load_explicit(&s->range, memory_order_relaxed);
    for (;;) {
        uint64_t front = range >> 32, back = range & 0xFFFFFFFF;
        if (front >= back) return 0;
        uint64_t size = (back - front) / 2;  // the owner halves what it has left; a thief takes half
        if (size == 0) size = 1;
        uint64_t next = from_front ? pack(front + size, back) : pack(front, back - size);
        if (atomic_compare_exchange_weak_explicit(&s->range, &range, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *begin = from_front ? front : back - size;
            *end = from_front ? front + size : back;
            return 1;
        }
    }
}

static void claim_and_run(void *argument, size_t chunk) {
    struct claims *claims = argument;
    size_t begin, end;
    while (take(&claims->shares[chunk], 1, &begin, &end)) claims->task(claims->context, begin, end);
    for (size_t other = 1; other < claims->threads; other++) {
        share *victim = &claims->shares[(chunk + other) % claims->threads];
        while (take(victim, 0, &begin, &end)) claims->task(claims->context, begin, end);
    }
}

void nmt_parallel_claims(nmt_pool *pool, nmt_range_task task, void *context, size_t count, size_t threads) {
    if (threads > count) threads = count;
    if (threads > nmt_pool_threads(pool)) threads = nmt_pool_threads(pool);
    if (threads <= 1 || count > 0xFFFFFFFF) {
        if (count > 0) task(context, 0, count);
        return;
    }
    share shares[threads];
    struct claims claims = {task, context, threads, shares};
    for (size_t c = 0; c < threads; c++)
        atomic_init(&shares[c].range, pack(c * count / threads, (c + 1) * count / threads));
    nmt_parallel(pool, claim_and_run, &claims, threads);
}
