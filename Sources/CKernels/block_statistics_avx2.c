// nmt_block_statistics for CPUs with AVX2 but not AVX-512, with the bits of
// block_statistics_avx512.c: a block of 16 logits is two 8-lane halves, missing logits of the
// last block are −∞ (no mass), and the exponentials are added in reduce16_add's tree.
#include "internal.h"

#if defined(__x86_64__)
#include "avx2.h"

#include <math.h>

// 8 floats from p, −∞ past the first n.
AVX2 static inline __m256 load8_or_minus_infinity(const float *p, ptrdiff_t n) {
    if (n >= 8) return _mm256_loadu_ps(p);
    __m256i m = first_lanes8(n);
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}

AVX2 void nmt_block_statistics_avx2(const float *x, size_t n, float *maxima, float *sums) {
    for (size_t b = 0; 16 * b < n; b++) {
        ptrdiff_t left = (ptrdiff_t)(n - 16 * b);
        __m256 lo = load8_or_minus_infinity(x + 16 * b, left), hi = load8_or_minus_infinity(x + 16 * b + 8, left - 8);
        float m = max16(lo, hi);
        maxima[b] = m;
        if (!sums) continue;
        if (m == -INFINITY) {  // only −∞: no mass
            sums[b] = 0;
            continue;
        }
        v8f l = (v8f)lo - m, h = (v8f)hi - m;
        sums[b] = sum16_quarters((__m256)VECTOR_EXP(v8f, v8i, l), (__m256)VECTOR_EXP(v8f, v8i, h));
    }
}
#endif
