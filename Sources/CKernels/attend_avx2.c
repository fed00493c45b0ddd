// nmt_attend for CPUs with AVX2 but not AVX-512, in the same three steps as attend_avx512.c and
// with the same operations in the same order, so that attention gives the same bits on either:
// each score sums 16 lanes of fused multiply-adds in reduce16_add's tree, the softmax adds its
// numerators in 16 lanes folded as _mm512_reduce_add_ps does, and the values are summed with
// the unnormalized weights, the division by their sum applied to the output.
#include "internal.h"

#if defined(__x86_64__)
#include "avx2.h"

#include <math.h>

// Step 1: scores[j] = scale · q · key_j. Returns the largest score.
AVX2 static float scaled_scores(const float *q, const float *keys, size_t stride, const int32_t *origins,
                                size_t row_stride, size_t count, size_t dim, float scale, float *scores) {
    float highest = -INFINITY;
    for (size_t j = 0; j < count; j++) {
        const float *key = keys + entry_offset(origins, row_stride, stride, j);
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();  // lanes 0–7 and 8–15 of 16
        for (size_t d = 0; d < dim; d += 16) {
            ptrdiff_t left = (ptrdiff_t)(dim - d);
            lo = _mm256_fmadd_ps(load8_first(key + d, left), load8_first(q + d, left), lo);
            hi = _mm256_fmadd_ps(load8_first(key + d + 8, left - 8), load8_first(q + d + 8, left - 8), hi);
        }
        float s = sum16_quarters(lo, hi) * scale;
        scores[j] = s;
        highest = s > highest ? s : highest;
    }
    return highest;
}

// Step 2: softmax numerators exp(score − shift) in place; returns their sum.
AVX2 static float softmax_numerators(float *scores, size_t count, float shift) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (size_t j = 0; j < count; j += 16)
        for (int half = 0; half < 2; half++) {
            ptrdiff_t left = (ptrdiff_t)(count - j) - 8 * half;
            if (left <= 0) continue;  // adds +0 in AVX-512's lanes: no change
            float *p = scores + j + 8 * half;
            v8f shifted = (v8f)load8_first(p, left) - shift;
            __m256 e = (__m256)VECTOR_EXP(v8f, v8i, shifted);
            __m256i m = first_lanes8(left);
            _mm256_maskstore_ps(p, m, e);
            e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
            if (half == 0) lo = _mm256_add_ps(lo, e);
            else hi = _mm256_add_ps(hi, e);
        }
    return sum16_halves(lo, hi);
}

// Step 3: out = Σ_j weights[j] · value_j · factor, 64 outputs at a time in eight registers.
AVX2 static void weighted_values(const float *weights, const float *values, size_t stride, const int32_t *origins,
                                 size_t row_stride, size_t count, size_t dim, float factor, float *out) {
    for (size_t c = 0; c < dim; c += 64) {
        __m256 a[8];
        for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
        for (size_t j = 0; j < count; j++) {
            const float *value = values + entry_offset(origins, row_stride, stride, j) + c;
            __m256 p = _mm256_set1_ps(weights[j]);
            for (int i = 0; i < 8; i++)
                a[i] = _mm256_fmadd_ps(p, load8_first(value + 8 * i, (ptrdiff_t)(dim - c) - 8 * i), a[i]);
        }
        __m256 f = _mm256_set1_ps(factor);
        for (int i = 0; i < 8; i++) {
            ptrdiff_t left = (ptrdiff_t)(dim - c) - 8 * i;
            if (left >= 8) _mm256_storeu_ps(out + c + 8 * i, _mm256_mul_ps(a[i], f));
            else if (left > 0) _mm256_maskstore_ps(out + c + 8 * i, first_lanes8(left), _mm256_mul_ps(a[i], f));
        }
    }
}

AVX2 void nmt_attend_avx2(const float *q, const float *keys, const float *values, size_t stride,
                          const int32_t *origins, size_t row_stride, size_t count, size_t dim, float scale,
                          float *scores, float *out) {
    float shift = scaled_scores(q, keys, stride, origins, row_stride, count, dim, scale, scores);
    float inverse = 1 / softmax_numerators(scores, count, shift);
    weighted_values(scores, values, stride, origins, row_stride, count, dim, inverse, out);
    for (size_t j = 0; j < count; j++) scores[j] *= inverse;
}
#endif
