// Shared by the AVX-512 kernels: the target attribute, 16-lane clang vectors, and reductions of
// 16 registers at once.
#ifndef CKERNELS_AVX512_H
#define CKERNELS_AVX512_H

#include <immintrin.h>
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

// The mask of the first n < 16 lanes, or of all 16.
static inline __mmask16 first_lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

#endif
