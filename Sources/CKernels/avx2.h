// Shared by the AVX2 kernels that give the same bits as their AVX-512 versions (attend_avx2.c,
// block_statistics_avx2.c, elementwise_avx2.c, matmul_panels_avx2.c): the target attribute,
// 8-lane clang vectors, masks, and the two orders in which the AVX-512 kernels add up 16 lanes,
// here for 16 lanes held as two 8-lane halves (lo: lanes 0–7, hi: lanes 8–15). Floating-point
// addition is commutative but not associative: the same pairs added in the same tree give the
// same bits.
#ifndef CKERNELS_AVX2_H
#define CKERNELS_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "vector_exp.h"

#define AVX2 __attribute__((target("avx2,fma")))

typedef float v8f __attribute__((ext_vector_type(8)));
typedef int32_t v8i __attribute__((ext_vector_type(8)));

// The mask of the first n lanes of 8 (all of them from 8 on), for vmaskmovps: a fast load on AMD
// and Intel alike; only the masked store is slow on AMD.
AVX2 static inline __m256i first_lanes8(ptrdiff_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n < 8 ? (int)(n > 0 ? n : 0) : 8),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 8 floats from p, those past the first n zero (and not read).
AVX2 static inline __m256 load8_first(const float *p, ptrdiff_t n) {
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes8(n));
}

// The sum of 16 lanes in the order of avx512.h's reduce16_add: in each 128-bit quarter q,
// T_q = (x0 + x2) + (x1 + x3); then (T0 + T1) + (T2 + T3).
AVX2 static inline float sum16_quarters(__m256 lo, __m256 hi) {
    __m256 a = _mm256_add_ps(lo, _mm256_permute_ps(lo, _MM_SHUFFLE(1, 0, 3, 2)));  // x0 + x2, x1 + x3
    __m256 b = _mm256_add_ps(hi, _mm256_permute_ps(hi, _MM_SHUFFLE(1, 0, 3, 2)));
    a = _mm256_add_ps(a, _mm256_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));  // T_q in lane 0 of quarter q
    b = _mm256_add_ps(b, _mm256_permute_ps(b, _MM_SHUFFLE(2, 3, 0, 1)));
    float t0 = _mm256_cvtss_f32(a), t1 = _mm_cvtss_f32(_mm256_extractf128_ps(a, 1));
    float t2 = _mm256_cvtss_f32(b), t3 = _mm_cvtss_f32(_mm256_extractf128_ps(b, 1));
    return (t0 + t1) + (t2 + t3);
}

// The sum of 16 lanes in the order of _mm512_reduce_add_ps as clang emits it: the halves
// folded onto each other, lane i + lane i + 8, then i + 4, i + 2, i + 1.
AVX2 static inline float sum16_halves(__m256 lo, __m256 hi) {
    __m256 a = _mm256_add_ps(lo, hi);
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

// The largest of 16 lanes (the same value in any order; of +0 and −0, either may come out, which
// no later step tells apart: x − 0 and e^±0 are the same).
AVX2 static inline float max16(__m256 lo, __m256 hi) {
    __m256 m = _mm256_max_ps(lo, hi);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

#endif
