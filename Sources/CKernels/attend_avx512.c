// nmt_attend for CPUs with AVX-512, in its three steps: scores, softmax, weighted sum of values.
// A decoding step attends with one query per head over tens of keys of 64 floats: a dot product
// per key that ends in its own horizontal sum spends more on the sums than on the multiply-adds.
// Here the dot products of 16 keys build up side by side and are reduced together
// (reduce16_add), the softmax runs 16 scores at a time, and the weighted sum of the values keeps
// 64 outputs in four registers.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

#include <math.h>

// The scaled scores of keys j ..< j + K (K = 16, or 8 when at most 8 are left: half the work,
// the same bits by reduce8_add); lanes past the last key repeat key j and are not stored.
AVX512 static inline __m512 key_group(const float *q, const float *keys, size_t stride, const int32_t *origins,
                                      size_t row_stride, size_t j, size_t count, size_t dim, float scale, int K) {
    const float *key[16];
    for (int i = 0; i < K; i++) key[i] = keys + entry_offset(origins, row_stride, stride, j + (j + i < count ? i : 0));
    __m512 acc[16];
    for (int i = 0; i < K; i++) acc[i] = _mm512_setzero_ps();
    for (size_t d = 0; d < dim; d += 16) {
        __mmask16 m = first_lanes(dim - d);
        __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
        for (int i = 0; i < K; i++) acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, key[i] + d), qv, acc[i]);
    }
    return _mm512_mul_ps(K == 16 ? reduce16_add(acc) : reduce8_add(acc), _mm512_set1_ps(scale));
}

// Step 1: scores[j] = scale · q · key_j, 16 keys at a time (a short decoding step's last 8 or
// fewer, 8 at a time). Returns the largest score.
AVX512 static float scaled_scores(const float *q, const float *keys, size_t stride, const int32_t *origins,
                                  size_t row_stride, size_t count, size_t dim, float scale, float *scores) {
    __m512 highest = _mm512_set1_ps(-INFINITY);
    for (size_t j = 0; j < count; j += 16) {
        __mmask16 valid = first_lanes(count - j);
        __m512 s = count - j > 8 ? key_group(q, keys, stride, origins, row_stride, j, count, dim, scale, 16)
                                 : key_group(q, keys, stride, origins, row_stride, j, count, dim, scale, 8);
        _mm512_mask_storeu_ps(scores + j, valid, s);
        highest = _mm512_mask_max_ps(highest, valid, highest, s);
    }
    return _mm512_reduce_max_ps(highest);
}

// Step 2: softmax numerators exp(score − shift) in place; returns their sum.
AVX512 static float softmax_numerators(float *scores, size_t count, float shift) {
    __m512 total = _mm512_setzero_ps();
    for (size_t j = 0; j < count; j += 16) {
        __mmask16 valid = first_lanes(count - j);
        v16f shifted = (v16f)_mm512_maskz_loadu_ps(valid, scores + j) - shift;
        __m512 e = (__m512)VECTOR_EXP(v16f, v16i, shifted);
        _mm512_mask_storeu_ps(scores + j, valid, e);
        total = _mm512_add_ps(total, _mm512_maskz_mov_ps(valid, e));
    }
    return _mm512_reduce_add_ps(total);
}

// Step 3: out = Σ_j weights[j] · value_j · factor, 64 outputs at a time in four registers.
AVX512 static void weighted_values(const float *weights, const float *values, size_t stride, const int32_t *origins,
                                   size_t row_stride, size_t count, size_t dim, float factor, float *out) {
    for (size_t c = 0; c < dim; c += 64) {
        __mmask16 m[4];
        __m512 a[4];
        for (int i = 0; i < 4; i++) {
            m[i] = c + 16 * i < dim ? first_lanes(dim - c - 16 * i) : 0;
            a[i] = _mm512_setzero_ps();
        }
        for (size_t j = 0; j < count; j++) {
            const float *value = values + entry_offset(origins, row_stride, stride, j) + c;
            __m512 p = _mm512_set1_ps(weights[j]);
            for (int i = 0; i < 4; i++) a[i] = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m[i], value + 16 * i), a[i]);
        }
        __m512 f = _mm512_set1_ps(factor);
        for (int i = 0; i < 4; i++) _mm512_mask_storeu_ps(out + c + 16 * i, m[i], _mm512_mul_ps(a[i], f));
    }
}

AVX512 void nmt_attend_avx512(const float *q, const float *keys, const float *values, size_t stride,
                              const int32_t *origins, size_t row_stride, size_t count, size_t dim, float scale,
                              float *scores, float *out) {
    float shift = scaled_scores(q, keys, stride, origins, row_stride, count, dim, scale, scores);
    float inverse = 1 / softmax_numerators(scores, count, shift);
    // The division by the sum is applied to the 64-wide output, not to every weight first.
    weighted_values(scores, values, stride, origins, row_stride, count, dim, inverse, out);
    // The weights themselves, normalized, for whoever records them.
    for (size_t j = 0; j < count; j += 16) {
        __mmask16 valid = first_lanes(count - j);
        _mm512_mask_storeu_ps(scores + j, valid, _mm512_mul_ps(_mm512_maskz_loadu_ps(valid, scores + j),
                                                               _mm512_set1_ps(inverse)));
    }
}
#endif
