// nmt_matmul_i8 and nmt_quantize_rows for CPUs with AVX2 (and without AVX-512).
//
// The products multiply |x| (u8) by w with x's sign (s8, vpsignb) in vpmaddubsw, then add pairs
// with vpmaddwd by ones: |x|, |w| ≤ 127 keep each 16-bit pair sum at most 2 · 127 · 127 = 32258,
// so vpmaddubsw never saturates and the sums are exact without the weight sums (the sign trick of
// llama.cpp's AVX2 dot products; quantized_avx512.c says why not the +128 shift). With 16 vector
// registers, a tile is 4 weight rows × R input rows (R = 2 or 1) with 8 accumulators.
#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))

// As in quantized_avx512.c: 128 · k bytes ahead.
enum { PREFETCH_ROWS = 128 };

// acc += the dot products, 32 bytes long, of x's magnitudes |x| (and its signs, x) with w.
AVX2 static inline __m256i multiply_add(__m256i acc, __m256i magnitudes, __m256i x, __m256i w) {
    __m256i pairs = _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// Lane i of the result is the sum of the 8 lanes of a[i].
AVX2 static inline __m256i reduce8_add(const __m256i a[8]) {
    __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
    __m256i efgh = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
    // Each holds the low 128-bit halves' sums in its low half and the high halves' in its high one.
    return _mm256_add_epi32(_mm256_permute2x128_si256(abcd, efgh, 0x20), _mm256_permute2x128_si256(abcd, efgh, 0x31));
}

// 32 bytes of k for R input rows (ldx apart) and 4 weight rows (ldw apart), into part u of the
// accumulators (acc[(u · R + r) · 4 + c]).
AVX2 static inline __attribute__((always_inline)) void chunk(__m256i acc[8], int R, int U, int u, const int8_t *x,
                                                             size_t ldx, const int8_t *w, size_t ldw) {
    __m256i xv[2], magnitudes[2];
    for (int r = 0; r < R; r++) {
        xv[r] = _mm256_loadu_si256((const __m256i *)(x + r * ldx));
        magnitudes[r] = _mm256_abs_epi8(xv[r]);
    }
    for (int c = 0; c < 4; c++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(w + c * ldw));
        for (int r = 0; r < R; r++)
            acc[(u * R + r) * 4 + c] = multiply_add(acc[(u * R + r) * 4 + c], magnitudes[r], xv[r], wv);
    }
}

// The sums of 4 weight rows with R input rows, lane (u · R + r) · 4 + c, R · 4 · U = 8. The last
// bytes of k, fewer than 32, go through zero-padded copies (zero weights add nothing).
#define TILE(R, U)                                                                                    \
    AVX2 static __m256i tile_##R(const int8_t *x, const int8_t *w, size_t k) {                        \
        const int8_t *ahead = w + PREFETCH_ROWS * k;                                                  \
        __m256i acc[8];                                                                               \
        for (int a = 0; a < 8; a++) acc[a] = _mm256_setzero_si256();                                  \
        size_t i = 0;                                                                                 \
        for (; i + 32 * U <= k; i += 32 * U)                                                          \
            for (int u = 0; u < U; u++) {                                                             \
                /* 4 · 32 bytes of weights consumed, so 2 cache lines prefetched. */                  \
                for (int line = 0; line < 2; line++)                                                  \
                    _mm_prefetch((const char *)(ahead + 4 * (i + 32 * u) + 64 * line), _MM_HINT_T2);  \
                chunk(acc, R, U, u, x + i + 32 * u, k, w + i + 32 * u, k);                            \
            }                                                                                         \
        for (; i < k; i += 32) {                                                                      \
            size_t count = k - i < 32 ? k - i : 32;                                                   \
            int8_t xt[R][32], wt[4][32];                                                              \
            memset(xt, 0, sizeof xt);                                                                 \
            memset(wt, 0, sizeof wt);                                                                 \
            for (int r = 0; r < R; r++) memcpy(xt[r], x + r * k + i, count);                          \
            for (int c = 0; c < 4; c++) memcpy(wt[c], w + c * k + i, count);                          \
            chunk(acc, R, U, 0, xt[0], 32, wt[0], 32);                                                \
        }                                                                                             \
        return reduce8_add(acc);                                                                      \
    }

TILE(2, 1)
TILE(1, 2)

// Writes the R × 4 outputs of a tile from its sums as nmt_i8_tile_outputs does, with the same
// operations, so the same bits.
AVX2 static inline void tile_outputs(__m256i lanes, int R, const float *xscale, const float *wscale,
                                     const float *bias, float *y, size_t ldy) {
    __m128i half[2] = {_mm256_castsi256_si128(lanes), _mm256_extracti128_si256(lanes, 1)};
    if (R == 1) half[0] = _mm_add_epi32(half[0], half[1]);
    __m128 ws = _mm_loadu_ps(wscale), b = bias ? _mm_loadu_ps(bias) : _mm_setzero_ps();
    for (int r = 0; r < R; r++) {
        __m128 scale = _mm_mul_ps(_mm_set1_ps(xscale[r]), ws);
        _mm_storeu_ps(y + r * ldy, _mm_add_ps(_mm_div_ps(_mm_cvtepi32_ps(half[r]), scale), b));
    }
}

// One weight row with one input row (the columns left over when n is not a multiple of 4).
AVX2 static int32_t dot(const int8_t *x, const int8_t *w, size_t k) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i < k; i += 32) {
        int8_t xt[32] = {0}, wt[32] = {0};
        const int8_t *xi = x + i, *wi = w + i;
        if (k - i < 32) {
            memcpy(xt, xi, k - i);
            memcpy(wt, wi, k - i);
            xi = xt;
            wi = wt;
        }
        __m256i xv = _mm256_loadu_si256((const __m256i *)xi);
        acc = multiply_add(acc, _mm256_abs_epi8(xv), xv, _mm256_loadu_si256((const __m256i *)wi));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

// Blocks of input rows, each against every weight row, as in quantized_avx512.c.
AVX2 void nmt_matmul_i8_avx2(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                             size_t n, size_t k, const float *bias, float *y, size_t ldy) {
    size_t block = nmt_i8_row_block(k);
    for (size_t first = 0; first < rows; first += block) {
        size_t end = rows - first < block ? rows : first + block, o = 0;
        for (; o + 4 <= n; o += 4) {
            const int8_t *w = wq + o * k;
            const float *b = bias ? bias + o : NULL;
            size_t r = first;
            for (; r + 2 <= end; r += 2)
                tile_outputs(tile_2(xq + r * k, w, k), 2, xscale + r, wscale + o, b, y + r * ldy + o, ldy);
            for (; r < end; r++)
                tile_outputs(tile_1(xq + r * k, w, k), 1, xscale + r, wscale + o, b, y + r * ldy + o, ldy);
        }
        for (; o < n; o++)
            for (size_t r = first; r < end; r++) {
                int32_t sum = dot(xq + r * k, wq + o * k, k);
                nmt_i8_tile_outputs(&sum, 1, 1, 1, NULL, xscale + r, wscale + o, bias ? bias + o : NULL,
                                    y + r * ldy + o, ldy);
            }
    }
}

// quantize_row of quantized.c, 32 floats at a time (the rest one by one): the same maximum, the
// same product by the scale, and rounding to nearest, ties to even, like rintf.
AVX2 void nmt_quantize_rows_avx2(const float *x, size_t rows, size_t k, int8_t *q, float *scales) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    // packs interleave the 128-bit halves of their operands; this puts the dwords back in order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (size_t r = 0; r < rows; r++, x += k, q += k) {
        __m256 m = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= k; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
        float lanes[8], largest = 0;
        _mm256_storeu_ps(lanes, m);
        for (int l = 0; l < 8; l++) largest = fmaxf(largest, lanes[l]);
        for (; i < k; i++) largest = fmaxf(largest, fabsf(x[i]));
        float s = largest > 0 ? 127 / largest : 1;
        __m256 scale = _mm256_set1_ps(s);
        __m256i v[4];
        for (i = 0; i + 32 <= k; i += 32) {
            for (int j = 0; j < 4; j++)
                v[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), scale),
                                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
            _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(bytes, order));
        }
        for (; i < k; i++) q[i] = (int8_t)rintf(x[i] * s);
        scales[r] = s;
    }
}
#endif
