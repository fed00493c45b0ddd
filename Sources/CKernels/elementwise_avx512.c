// Swish and layer norm for CPUs with AVX-512: 16 lanes where the AVX2 versions use 8. On a core
// with two 512-bit pipes (AMD Zen 5) they take half the time; both were ~2.4% of a greedy run.
// Swish is the same expression per element as kernels.c's AVX2 version (the same exp polynomial,
// one division), so the same bits; elementwise_avx2.c's layer norm adds its 16 partial sums up as
// this one does, so the same bits too.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

#include <math.h>

AVX512 void nmt_swish_avx512(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = first_lanes(n - i);
        v16f v = (v16f)_mm512_maskz_loadu_ps(m, x + i), e = -v;
        v16f s = v / (1.0f + (v16f)VECTOR_EXP(v16f, v16i, e));
        _mm512_mask_storeu_ps(x + i, m, (__m512)s);
    }
}

// Mean and variance in two passes over the row, each with 16 partial sums.
AVX512 void nmt_layer_norm_avx512(const float *x, const float *gamma, const float *beta, float eps, float *y,
                                  size_t n) {
    __m512 s = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(first_lanes(n - i), x + i));
    __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(s) / (float)n);
    __m512 q = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = first_lanes(n - i);
        __m512 c = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), mean);
        q = _mm512_fmadd_ps(c, c, q);
    }
    __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(q) / (float)n + eps));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = first_lanes(n - i);
        __m512 c = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mean), inv);
        __m512 out = _mm512_fmadd_ps(c, _mm512_maskz_loadu_ps(m, gamma + i), _mm512_maskz_loadu_ps(m, beta + i));
        _mm512_mask_storeu_ps(y + i, m, out);
    }
}
#endif
