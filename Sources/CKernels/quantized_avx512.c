// nmt_matmul_i8 for CPUs with AVX-512: with VNNI (vpdpbusd, u8 · s8 → s32 in one instruction)
// and with AVX-512BW alone; and nmt_quantize_rows with AVX-512F.
//
// The tiles are those of matmul_avx512.c: 4 weight rows × R input rows (R = 4, 2 or 1) with 16
// accumulators, 64 bytes of k per register, weights prefetched ahead in address order, the 16
// accumulators summed by avx512.h's transpose-and-add tree. A pass over the weights takes a block
// of input rows (nmt_i8_row_block), so the encoder's ~1500 rows of k = 2048 are not reread from L3
// for every 4 weight rows.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define AVX512BW __attribute__((target("avx512f,avx512bw")))

// avx512.h's tree on int32 lanes: the unpacks and shuffles only move bits, so they may act on
// floats; the adds are integer ones.
#define ADD_I32(a, b) _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)))
REDUCE16(reduce16_add_i32, ADD_I32)

// Weight rows ahead of the tile that the prefetches reach: 128 · k bytes, the distance in bytes
// that matmul_avx512.c found best for floats (32 rows of 4-byte weights).
enum { PREFETCH_ROWS = 128 };

// The mask of the first n < 64 bytes, or of all 64.
static inline __mmask64 first_bytes(size_t n) { return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1; }

// 64 activations ready to multiply with any weight row: as u8 for VNNI, as magnitudes and signs
// for AVX-512BW.
typedef struct {
    __m512i u8;
    __mmask64 negative;
} activations;

// VNNI multiplies u8 by s8, so the activations move to [1, 255] by +128 (flipping their sign
// bit); nmt_i8_tile_outputs takes 128 · wsum back off.
VNNI static inline activations vnni_prepare(__m512i x) {
    return (activations){_mm512_xor_si512(x, _mm512_set1_epi8((char)0x80)), 0};
}
VNNI static inline __m512i vnni_multiply_add(__m512i acc, activations x, __m512i w) {
    return _mm512_dpbusd_epi32(acc, x.u8, w);
}

// Without VNNI, vpmaddubsw multiplies u8 by s8 and adds pairs into s16 with saturation: with the
// +128 shift a pair reaches 2 · 255 · 127 > 32767. Instead it multiplies |x| (u8) by w with x's
// sign (s8), so that a pair is at most 2 · 127 · 127 = 32258 and exact; vpmaddwd with ones then
// adds pairs into s32. This is the sign trick of llama.cpp's AVX2 dot products (AVX-512 has no
// vpsignb: a masked subtraction negates w where x < 0). Per 64 products: 4 instructions, and no
// weight sums; widening both operands to s16 for vpmaddwd costs as many (2 per 32 products plus
// the widening) and reads half the bytes per instruction.
AVX512BW static inline activations bw_prepare(__m512i x) {
    return (activations){_mm512_abs_epi8(x), _mm512_movepi8_mask(x)};
}
AVX512BW static inline __m512i bw_multiply_add(__m512i acc, activations x, __m512i w) {
    __m512i signed_w = _mm512_mask_sub_epi8(w, x.negative, _mm512_setzero_si512(), w);
    __m512i pairs = _mm512_maddubs_epi16(x.u8, signed_w);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}

// The sums of 4 weight rows (k apart from w) with R input rows (k apart from x), in lane
// (u · R + r) · 4 + c for part u of k: R · 4 · U = 16, k unrolled U times so that each weight row
// is read in runs of U cache lines.
#define TILE(KIND, ATTR, R, U)                                                                         \
    ATTR static __m512i KIND##_tile_##R(const int8_t *x, const int8_t *w, size_t k) {                  \
        const int8_t *ahead = w + PREFETCH_ROWS * k;                                                   \
        __m512i acc[16];                                                                               \
        for (int a = 0; a < 16; a++) acc[a] = _mm512_setzero_si512();                                  \
        size_t i = 0;                                                                                  \
        for (; i + 64 * U <= k; i += 64 * U)                                                           \
            for (int u = 0; u < U; u++) {                                                              \
                activations xv[R];                                                                     \
                for (int r = 0; r < R; r++) xv[r] = KIND##_prepare(_mm512_loadu_si512(x + r * k + i + 64 * u)); \
                for (int c = 0; c < 4; c++) {                                                          \
                    _mm_prefetch((const char *)(ahead + 4 * (i + 64 * u) + 64 * c), _MM_HINT_T2);      \
                    __m512i wv = _mm512_loadu_si512(w + c * k + i + 64 * u);                           \
                    for (int r = 0; r < R; r++)                                                        \
                        acc[(u * R + r) * 4 + c] = KIND##_multiply_add(acc[(u * R + r) * 4 + c], xv[r], wv); \
                }                                                                                      \
            }                                                                                          \
        /* Masked-off bytes load as 0 weights, whatever the activation becomes. */                     \
        for (; i < k; i += 64) {                                                                       \
            __mmask64 m = first_bytes(k - i);                                                          \
            activations xv[R];                                                                         \
            for (int r = 0; r < R; r++) xv[r] = KIND##_prepare(_mm512_maskz_loadu_epi8(m, x + r * k + i)); \
            for (int c = 0; c < 4; c++) {                                                              \
                __m512i wv = _mm512_maskz_loadu_epi8(m, w + c * k + i);                                \
                for (int r = 0; r < R; r++)                                                            \
                    acc[r * 4 + c] = KIND##_multiply_add(acc[r * 4 + c], xv[r], wv);                   \
            }                                                                                          \
        }                                                                                              \
        __m512 sums[16];                                                                               \
        for (int a = 0; a < 16; a++) sums[a] = _mm512_castsi512_ps(acc[a]);                            \
        return _mm512_castps_si512(reduce16_add_i32(sums));                                            \
    }

// Writes the R × 4 outputs of a tile from its sums (TILE's lanes) as nmt_i8_tile_outputs does,
// with the same operations, so the same bits: U parts added, 128 · wsum taken off (both wrapping),
// converted, divided by xscale[r] · wscale[c], plus the bias.
AVX512 static inline void tile_outputs(__m512i lanes, int R, const int32_t *wsum, const float *xscale,
                                       const float *wscale, const float *bias, float *y, size_t ldy) {
    if (R <= 2) lanes = _mm512_add_epi32(lanes, _mm512_shuffle_i64x2(lanes, lanes, _MM_SHUFFLE(1, 0, 3, 2)));
    if (R == 1) lanes = _mm512_add_epi32(lanes, _mm512_shuffle_i64x2(lanes, lanes, _MM_SHUFFLE(2, 3, 0, 1)));
    if (wsum) {
        __m512i sums = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)wsum));
        lanes = _mm512_sub_epi32(lanes, _mm512_slli_epi32(sums, 7));
    }
    // Lane r · 4 + c: xscale[r] and wscale[c].
    __m512 xs = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                      _mm512_maskz_loadu_ps(first_lanes((size_t)R), xscale));
    __m512 ws = _mm512_broadcast_f32x4(_mm_loadu_ps(wscale));
    __m512 b = bias ? _mm512_broadcast_f32x4(_mm_loadu_ps(bias)) : _mm512_setzero_ps();
    __m512 v = _mm512_add_ps(_mm512_div_ps(_mm512_cvtepi32_ps(lanes), _mm512_mul_ps(xs, ws)), b);
    // Each row's 4 outputs straight from their 128-bit lane. Through a buffer on the stack, its
    // reloads stalled behind the stores to y (rows 1,024 floats apart alias every 4 KB): with the
    // 16-row groups below, 1,000 lines i8 beam 4 took 1.63 s that way against 1.25 s (Zen 5).
    _mm_storeu_ps(y, _mm512_castps512_ps128(v));
    if (R > 1) _mm_storeu_ps(y + ldy, _mm512_extractf32x4_ps(v, 1));
    if (R > 2) _mm_storeu_ps(y + 2 * ldy, _mm512_extractf32x4_ps(v, 2));
    if (R > 3) _mm_storeu_ps(y + 3 * ldy, _mm512_extractf32x4_ps(v, 3));
}

// One weight row with one input row (the columns left over when n is not a multiple of 4).
#define DOT(KIND, ATTR)                                                                                \
    ATTR static int32_t KIND##_dot(const int8_t *x, const int8_t *w, size_t k) {                       \
        __m512i acc = _mm512_setzero_si512();                                                          \
        for (size_t i = 0; i < k; i += 64) {                                                           \
            __mmask64 m = first_bytes(k - i);                                                          \
            acc = KIND##_multiply_add(acc, KIND##_prepare(_mm512_maskz_loadu_epi8(m, x + i)),          \
                                      _mm512_maskz_loadu_epi8(m, w + i));                              \
        }                                                                                              \
        return _mm512_reduce_add_epi32(acc);                                                           \
    }

// The product over blocks of input rows, each block against every weight row.
#define MATMUL(KIND, ATTR, WSUM)                                                                       \
    TILE(KIND, ATTR, 4, 1)                                                                             \
    TILE(KIND, ATTR, 2, 2)                                                                             \
    TILE(KIND, ATTR, 1, 4)                                                                             \
    DOT(KIND, ATTR)                                                                                    \
    ATTR static void KIND##_matmul(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, \
                                   const float *wscale, const int32_t *wsum, size_t n, size_t k,       \
                                   const float *bias, float *y, size_t ldy) {                          \
        size_t block = nmt_i8_row_block(k), tiled = n / 4 * 4;                                        \
        for (size_t first = 0; first < rows; first += block) {                                         \
            size_t end = rows - first < block ? rows : first + block, o = tiled;                       \
            /* 16 weight rows (one cache line of each output row) pass every input row of the block \
               before the next 16: with y rows 4 KB apart (1,024 floats) all of a block's output    \
               lines fall in one L1 set, and writing each line 4 outputs at a time, a pass apart,   \
               evicted it between the writes (1024 × 256 from 64 rows: 420 → 665 GOP/s, Zen 5). */  \
            for (size_t group = 0; group < tiled; group += 16)                                         \
                for (size_t r = first; r < end;) {                                                     \
                    size_t R = end - r >= 4 ? 4 : end - r >= 2 ? 2 : 1;                               \
                    for (size_t c = group; c < group + 16 && c < tiled; c += 4) {                      \
                        const int8_t *w = wq + c * k;                                                  \
                        __m512i lanes = R == 4 ? KIND##_tile_4(xq + r * k, w, k)                       \
                                      : R == 2 ? KIND##_tile_2(xq + r * k, w, k)                       \
                                               : KIND##_tile_1(xq + r * k, w, k);                      \
                        tile_outputs(lanes, (int)R, WSUM ? wsum + c : NULL, xscale + r, wscale + c,    \
                                     bias ? bias + c : NULL, y + r * ldy + c, ldy);                    \
                    }                                                                                  \
                    r += R;                                                                            \
                }                                                                                      \
            for (; o < n; o++)                                                                         \
                for (size_t r = first; r < end; r++) {                                                 \
                    int32_t sum = KIND##_dot(xq + r * k, wq + o * k, k);                               \
                    nmt_i8_tile_outputs(&sum, 1, 1, 1, WSUM ? wsum + o : NULL, xscale + r, wscale + o, \
                                        bias ? bias + o : NULL, y + r * ldy + o, ldy);                 \
                }                                                                                      \
        }                                                                                              \
    }

MATMUL(vnni, VNNI, 1)
MATMUL(bw, AVX512BW, 0)

void nmt_matmul_i8_vnni(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                        const int32_t *wsum, size_t n, size_t k, const float *bias, float *y, size_t ldy) {
    vnni_matmul(xq, xscale, rows, wq, wscale, wsum, n, k, bias, y, ldy);
}

void nmt_matmul_i8_avx512bw(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq,
                            const float *wscale, size_t n, size_t k, const float *bias, float *y, size_t ldy) {
    bw_matmul(xq, xscale, rows, wq, wscale, NULL, n, k, bias, y, ldy);
}

// quantize_row of quantized.c, 16 floats at a time: the same maximum, the same product by the
// scale, and a conversion rounding to nearest, ties to even, like rintf.
AVX512 void nmt_quantize_rows_avx512(const float *x, size_t rows, size_t k, int8_t *q, float *scales) {
    for (size_t r = 0; r < rows; r++, x += k, q += k) {
        __m512 m = _mm512_setzero_ps();
        for (size_t i = 0; i < k; i += 16)
            m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(first_lanes(k - i), x + i)));
        float largest = _mm512_reduce_max_ps(m), s = largest > 0 ? 127 / largest : 1;
        __m512 scale = _mm512_set1_ps(s);
        for (size_t i = 0; i < k; i += 16) {
            __mmask16 lanes = first_lanes(k - i);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + i), scale);
            __m512i rounded = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm512_mask_cvtsepi32_storeu_epi8(q + i, lanes, rounded);
        }
        scales[r] = s;
    }
}
#endif
