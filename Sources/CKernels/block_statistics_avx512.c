// nmt_block_statistics for CPUs with AVX-512: a block of 16 logits is one register, and the maxima
// and sums of 16 blocks are reduced together (reduce16_max, reduce16_add). Every block goes
// through the same code, the last ones padded with blocks of −∞, so that a block's statistics are
// the same bits whichever piece of a product (and so whichever thread) computed it.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"


AVX512 void nmt_block_statistics_avx512(const float *x, size_t n, float *maxima, float *sums) {
    size_t blocks = nmt_product_blocks(n);
    for (size_t b = 0; b < blocks; b += 16) {
        size_t group = blocks - b < 16 ? blocks - b : 16;
        __m512 v[16];
        for (size_t i = 0; i < 16; i++) {
            size_t start = 16 * (b + i);
            __mmask16 valid = i < group ? first_lanes(n - start) : 0;
            v[i] = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), valid, x + (i < group ? start : 0));
        }
        __m512 m = reduce16_max(v);
        _mm512_mask_storeu_ps(maxima + b, first_lanes(group), m);
        if (sums) _mm512_mask_storeu_ps(sums + b, first_lanes(group), block_sums16(v, m));
    }
}
#endif
