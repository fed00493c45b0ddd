// Attention regions: many (row, head) pairs of single-query attentions (nmt_attend), described by
// jobs that the Swift side fills in a reused buffer and run here over the pool, so that an
// attention layer costs no allocation and no reference counting per step.
#include "internal.h"

#include <string.h>

struct region {
    const nmt_attention_job *jobs;
    size_t count, dim, score_stride, chunks;
    float scale;
    float *scores;
};

// Asks for the keys and values of a job ahead of time. A decoding step's jobs read the key/value
// cache and cross-attention memory of every row, megabytes that do not stay in cache between steps,
// from addresses (row slots, beam origins) that the hardware prefetcher cannot guess.
static void prefetch_job(const nmt_attention_job *job, size_t dim) {
    size_t count = job->first_visible + job->queries - 1 < job->key_count ? job->first_visible + job->queries - 1
                                                                          : job->key_count;
    for (size_t i = 0; i < count; i++) {
        const float *key = job->keys + entry_offset(job->origins, job->row_stride, job->stride, i);
        const float *value = job->values + entry_offset(job->origins, job->row_stride, job->stride, i);
        for (size_t c = 0; c < dim; c += 16) {
            __builtin_prefetch(key + c, 0, 3);
            __builtin_prefetch(value + c, 0, 3);
        }
    }
}

// Keys (and their values) asked for ahead of the job that runs, at least the next job's: a
// decoding step's self-attention job is one query over ~10 keys, and asking for one job ahead
// left its keys arriving late (20.3 ns per query-key in a beam-4 run; 64 keys ahead: ~16.7).
enum { LEAD_KEYS = 64 };

static void run_jobs(void *context, size_t chunk) {
    const struct region *region = context;
    float *scores = region->scores + chunk * region->score_stride;
    size_t last = (chunk + 1) * region->count / region->chunks;
    size_t first = chunk * region->count / region->chunks;
    size_t ahead = first + 1, keys_ahead = 0;  // jobs first + 1 ..< ahead were asked for; their keys
    for (size_t j = first; j < last; j++) {
        const nmt_attention_job *job = &region->jobs[j];
        if (j > first) keys_ahead -= job->key_count;
        for (; ahead < last && (ahead == j + 1 || keys_ahead < LEAD_KEYS); ahead++) {
            prefetch_job(&region->jobs[ahead], region->dim);
            keys_ahead += region->jobs[ahead].key_count;
        }
        for (size_t i = 0; i < job->queries; i++) {
            size_t visible = job->first_visible + i < job->key_count ? job->first_visible + i : job->key_count;
            nmt_attend(job->q + i * job->ldq, job->keys, job->values, job->stride, job->origins, job->row_stride,
                       visible, region->dim, region->scale, scores, job->out + i * job->ldo);
            if (job->probabilities) memcpy(job->probabilities + i * job->ldp, scores, visible * sizeof(float));
        }
    }
}

void nmt_attention(nmt_pool *pool, const nmt_attention_job *jobs, size_t count, size_t dim, float scale,
                   float *scores, size_t score_stride, size_t threads) {
    size_t chunks = threads < count ? threads : count;
    struct region region = {jobs, count, dim, score_stride, chunks > 0 ? chunks : 1, scale, scores};
    if (region.chunks == 1) {
        run_jobs(&region, 0);
        return;
    }
    nmt_parallel(pool, run_jobs, &region, region.chunks);
}
