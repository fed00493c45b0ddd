// Attention regions: many (row, head) pairs of single-query attentions (nmt_attend), described by
// jobs that the Swift side fills in a reused buffer and run here over the pool, so that an
// attention layer costs no allocation and no reference counting per step.
#include "CKernels.h"

#include <string.h>

struct region {
    const nmt_attention_job *jobs;
    size_t count, dim, score_stride, chunks;
    float scale;
    float *scores;
};

static void run_jobs(void *context, size_t chunk) {
    const struct region *region = context;
    float *scores = region->scores + chunk * region->score_stride;
    for (size_t j = chunk * region->count / region->chunks; j < (chunk + 1) * region->count / region->chunks; j++) {
        const nmt_attention_job *job = &region->jobs[j];
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
