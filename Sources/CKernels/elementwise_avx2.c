// Layer norm for CPUs with AVX2 but not AVX-512, with the bits of elementwise_avx512.c: 16 partial
// sums as two 8-lane halves, added up as _mm512_reduce_add_ps does. (Swish needs no version of its
// own: kernels.c's is the same expression per element.)
#include "internal.h"

#if defined(__x86_64__)
#include "avx2.h"

#include <math.h>

AVX2 void nmt_layer_norm_avx2(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        ptrdiff_t left = (ptrdiff_t)(n - i);
        lo = _mm256_add_ps(lo, load8_first(x + i, left));
        hi = _mm256_add_ps(hi, load8_first(x + i + 8, left - 8));
    }
    float meanValue = sum16_halves(lo, hi) / (float)n;
    __m256 mean = _mm256_set1_ps(meanValue);
    lo = hi = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        ptrdiff_t left = (ptrdiff_t)(n - i);
        // Missing lanes are 0, not 0 − mean, as the AVX-512 version's masked subtraction makes them.
        __m256 c0 = _mm256_and_ps(_mm256_sub_ps(load8_first(x + i, left), mean), _mm256_castsi256_ps(first_lanes8(left)));
        __m256 c1 = _mm256_and_ps(_mm256_sub_ps(load8_first(x + i + 8, left - 8), mean),
                                  _mm256_castsi256_ps(first_lanes8(left - 8)));
        lo = _mm256_fmadd_ps(c0, c0, lo);
        hi = _mm256_fmadd_ps(c1, c1, hi);
    }
    __m256 inv = _mm256_set1_ps(1.0f / sqrtf(sum16_halves(lo, hi) / (float)n + eps));
    for (size_t i = 0; i < n; i += 8) {
        ptrdiff_t left = (ptrdiff_t)(n - i);
        __m256 c = _mm256_mul_ps(_mm256_sub_ps(load8_first(x + i, left), mean), inv);
        __m256 out = _mm256_fmadd_ps(c, load8_first(gamma + i, left), load8_first(beta + i, left));
        if (left >= 8) _mm256_storeu_ps(y + i, out);
        else _mm256_maskstore_ps(y + i, first_lanes8(left), out);
    }
}
#endif
