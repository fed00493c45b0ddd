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

// e^x for x ≤ 0 or NaN, the same bits as VECTOR_EXP (vector_exp.h) with two steps fewer: such x
// needs no upper clamp, and 2^n is applied by vscalefps, which rounds y · 2^n once as the
// multiplication by the power of two built in the exponent bits does (n ≥ −126: normal). NaN
// gives e^−87.34, as VECTOR_EXP's clamp makes it.
AVX512 static inline __m512 exp_nonpositive(__m512 x) {
    const __m512 lowest = _mm512_set1_ps(-87.33654f);
    __m512 xc = _mm512_max_ps(x, lowest);  // NaN in x: the second operand
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_add_ps(_mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, lowest, _CMP_NLT_UQ), y, n);
}

// block_sums16 in two parts, for callers that spread the exponentials over other work (the panel
// kernel's tile_8): e^(v − max) of register i, lane by lane; then the sums of 16 such registers.
AVX512 static inline __m512 block_exp(__m512 v, __m512 maxima, int i) {
    return exp_nonpositive(_mm512_sub_ps(v, _mm512_permutexvar_ps(_mm512_set1_epi32(i), maxima)));
}

AVX512 static inline __m512 sums_of_block_exps(const __m512 e[16], __m512 maxima) {
    __mmask16 empty = _mm512_cmp_ps_mask(maxima, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(empty, reduce16_add(e), _mm512_setzero_ps());
}

// Lane i: Σ exp(x − max) over the 16 values of v[i], whose maximum is lane i of `maxima`
// (reduce16_max(v)), the same bits wherever v[i] sits among the 16. A register of −∞ only (masked
// logits, or padding) has no mass: 0, though its shifted values are NaN. The block statistics'
// sums (block_statistics_avx512.c, and the panel kernel's tile_statistics).
AVX512 static inline __m512 block_sums16(const __m512 v[16], __m512 maxima) {
    __m512 e[16];
    for (int i = 0; i < 16; i++) e[i] = block_exp(v[i], maxima, i);
    return sums_of_block_exps(e, maxima);
}

// The mask of the first n < 16 lanes, or of all 16.
static inline __mmask16 first_lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

#endif
