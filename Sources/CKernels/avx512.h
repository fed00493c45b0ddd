// Shared by the AVX-512 kernels: the target attribute, 16-lane clang vectors, and reductions of
// 16 registers at once.
#ifndef CKERNELS_AVX512_H
#define CKERNELS_AVX512_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "vector_exp.h"

#define AVX512 __attribute__((target("avx512f")))

typedef float v16f __attribute__((ext_vector_type(16)));
typedef int32_t v16i __attribute__((ext_vector_type(16)));

// Lane i of the result is OP over the 16 lanes of a[i], by a transpose-and-combine tree: about 2
// instructions per register instead of 8 for 16 separate horizontal reductions. HALF reduces
// 8 registers to one whose 128-bit lanes are [a0..3, a0..3, a4..7, a4..7] partials; the last
// level combines the two halves.
#define REDUCE16(NAME, OP)                                                                           \
    AVX512 static inline __m512 NAME##_half(const __m512 a[8]) {                                     \
        /* [a0 a1 a0 a1] partials in each 128-bit lane, for the pairs (a0, a1), (a2, a3), ... */    \
        __m512 b[4];                                                                                 \
        for (int i = 0; i < 4; i++)                                                                  \
            b[i] = OP(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1])); \
        /* [a0 a1 a2 a3] partials in each 128-bit lane. */                                          \
        __m512 c[2];                                                                                 \
        for (int i = 0; i < 2; i++)                                                                  \
            c[i] = OP(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),            \
                      _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));           \
        return OP(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));   \
    }                                                                                                \
    AVX512 static inline __m512 NAME##_of(__m512 d0, __m512 d1) {                                   \
        return OP(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xDD));           \
    }                                                                                                \
    AVX512 static inline __m512 NAME(const __m512 a[16]) { return NAME##_of(NAME##_half(a), NAME##_half(a + 8)); }

REDUCE16(reduce16_add, _mm512_add_ps)
REDUCE16(reduce16_max, _mm512_max_ps)

// Lanes 0..7 of reduce16_add(a) from a[0..7] alone, the same bits (those lanes of the last level
// come from the first half only); lanes 8..15 are zero.
AVX512 static inline __m512 reduce8_add(const __m512 a[8]) {
    return reduce16_add_of(reduce16_add_half(a), _mm512_setzero_ps());
}

// Lane i: Σ exp(x − max) over the 16 values of v[i], whose maximum is lane i of `maxima`
// (reduce16_max(v)), the same bits wherever v[i] sits among the 16. A register of −∞ only (masked
// logits, or padding) has no mass: 0, though its shifted values are NaN. The block statistics'
// sums (block_statistics_avx512.c, and the panel kernel's tile_statistics).
AVX512 static inline __m512 block_sums16(const __m512 v[16], __m512 maxima) {
    __m512 e[16];
    for (int i = 0; i < 16; i++) {
        v16f shifted = (v16f)v[i] - (v16f)_mm512_permutexvar_ps(_mm512_set1_epi32(i), maxima);
        e[i] = (__m512)VECTOR_EXP(v16f, v16i, shifted);
    }
    __mmask16 empty = _mm512_cmp_ps_mask(maxima, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(empty, reduce16_add(e), _mm512_setzero_ps());
}

// The mask of the first n < 16 lanes, or of all 16.
static inline __mmask16 first_lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

#endif
