// A pool of worker threads for the engine's many short parallel regions: a decoding step of a
// small model is ~30 products of a few microseconds each, and waking a sleeping thread (futex)
// costs about as much as the product itself. So workers spin for a short while between regions
// (as OpenMP's and CTranslate2's do) and then sleep.
//
// The caller never waits for a worker that has not started: when the pool's threads do not own
// their cores (more threads than cores, another process, a busy neighbour), a descheduled worker
// would otherwise hold up every region until the scheduler runs it again. Workers join a region
// while it is open and take its chunks from a shared counter; the caller takes chunks too, closes
// the region once none are left, and waits only for the workers that joined.
#define _GNU_SOURCE
#include "CKernels.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

// A worker spins this many pauses (~0.1–0.3 ms) for the next region before it sleeps; a caller
// waiting for joined workers yields its core after this many.
enum { MAX_WORKERS = 255, SPINS_BEFORE_SLEEP = 1 << 13, SPINS_BEFORE_YIELD = 1 << 10 };

// A region's ticket: generation << 32 | closed << 31 | workers joined.
#define CLOSED (1ULL << 31)

// One pool per owner (a Translator): pools of different owners run their regions at the same
// time; callers sharing a pool take turns, a concurrent caller running its region serially.
struct nmt_pool {
    pthread_mutex_t region;  // one parallel region at a time
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Atomic uint64_t ticket;
    atomic_size_t next_chunk;  // chunks handed out in the current region
    atomic_size_t finished;    // joined workers done with the current region
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

static uint32_t generation_of(uint64_t ticket) { return (uint32_t)(ticket >> 32); }

// Runs chunks of the current region until none are left.
static void take_chunks(nmt_pool *pool) {
    size_t c;
    while ((c = atomic_fetch_add_explicit(&pool->next_chunk, 1, memory_order_relaxed)) < pool->chunks)
        pool->task(pool->context, c);
}

static void *worker(void *argument) {
    nmt_pool *pool = argument;
    inside_region = 1;
    // A worker that starts late may read a generation that is already past its first region, or
    // past the stop: it then waits for the next region, and checks `stopping` while it waits.
    uint32_t seen = generation_of(atomic_load(&pool->ticket));
    for (;;) {
        size_t spins = 0;
        uint64_t ticket;
        while (generation_of(ticket = atomic_load_explicit(&pool->ticket, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stopping, memory_order_relaxed)) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->sleep_lock);
            atomic_fetch_add(&pool->sleepers, 1);
            while (generation_of(atomic_load(&pool->ticket)) == seen && !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->sleep_lock);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->sleep_lock);
        }
        seen = generation_of(ticket);
        if (atomic_load(&pool->stopping)) return NULL;
        // Join only the region this generation names, and only while it is open.
        int joined = 0;
        while (generation_of(ticket) == seen && !(ticket & CLOSED)) {
            if (atomic_compare_exchange_weak_explicit(&pool->ticket, &ticket, ticket + 1, memory_order_acquire,
                                                      memory_order_acquire)) {
                joined = 1;
                break;
            }
        }
        if (!joined) continue;
        take_chunks(pool);
        atomic_fetch_add_explicit(&pool->finished, 1, memory_order_release);
    }
}

size_t nmt_available_cores(void) {
    size_t cores = 1;
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) cores = (size_t)CPU_COUNT(&set);
    // A cgroup v2 CPU quota (containers, systemd's CPUQuota): "max 100000" or "QUOTA PERIOD".
    FILE *file = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (file) {
        long long quota = 0, period = 0;
        if (fscanf(file, "%lld %lld", &quota, &period) == 2 && quota > 0 && period > 0) {
            size_t allowed = (size_t)((quota + period - 1) / period);
            if (allowed >= 1 && allowed < cores) cores = allowed;
        }
        fclose(file);
    }
#else
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > 0) cores = (size_t)online;
#endif
    return cores > 0 ? cores : 1;
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

static void wake_all(nmt_pool *pool) {
    pthread_mutex_lock(&pool->sleep_lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
}

void nmt_pool_destroy(nmt_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->region);  // no region in flight
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->ticket, 1ULL << 32);
    wake_all(pool);
    for (size_t w = 0; w < pool->workers; w++) pthread_join(pool->handles[w], NULL);
    pthread_mutex_unlock(&pool->region);
    pthread_mutex_destroy(&pool->region);
    pthread_mutex_destroy(&pool->sleep_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}

void nmt_parallel(nmt_pool *pool, nmt_task task, void *context, size_t chunks) {
    if (!pool || chunks <= 1 || chunks > pool->threads || inside_region || pthread_mutex_trylock(&pool->region) != 0) {
        for (size_t c = 0; c < chunks; c++) task(context, c);
        return;
    }
    while (pool->workers < chunks - 1 && pthread_create(&pool->handles[pool->workers], NULL, worker, pool) == 0)
        pool->workers++;
    pool->task = task;
    pool->context = context;
    pool->chunks = chunks;
    atomic_store_explicit(&pool->next_chunk, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    // A new generation, open, nobody joined: publishes the fields above to joining workers.
    uint64_t ticket = (uint64_t)(generation_of(atomic_load(&pool->ticket)) + 1) << 32;
    atomic_store(&pool->ticket, ticket);  // sequentially consistent with the sleepers check below
    if (atomic_load(&pool->sleepers) > 0) wake_all(pool);
    inside_region = 1;
    take_chunks(pool);
    inside_region = 0;
    // No chunk is left: close the region and wait for the workers that joined it only.
    uint64_t joined = atomic_fetch_or(&pool->ticket, CLOSED) & (CLOSED - 1);
    for (size_t spins = 0; atomic_load_explicit(&pool->finished, memory_order_acquire) != joined;) {
        if (++spins % SPINS_BEFORE_YIELD == 0) sched_yield();  // a joined worker may need this core
        else cpu_relax();
    }
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
