// nmt_block_statistics for CPUs with AVX-512: a block of 16 logits is one register, and the maxima
// and sums of 16 blocks are reduced together (reduce16_max, reduce16_add). Every block goes
// through the same code, the last ones padded with blocks of −∞, so that a block's statistics are
// the same bits whichever piece of a product (and so whichever thread) computed it.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

#include <math.h>

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
        if (!sums) continue;
        __m512 e[16];
        for (int i = 0; i < 16; i++) {
            v16f shifted = (v16f)v[i] - (v16f)_mm512_permutexvar_ps(_mm512_set1_epi32(i), m);
            e[i] = (__m512)VECTOR_EXP(v16f, v16i, shifted);
        }
        // A block of −∞ only (masked logits, or padding) has no mass; its shifted values are NaN.
        __mmask16 empty = _mm512_cmp_ps_mask(m, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
        __m512 s = _mm512_mask_blend_ps(empty, reduce16_add(e), _mm512_setzero_ps());
        _mm512_mask_storeu_ps(sums + b, first_lanes(group), s);
    }
}
#endif
