// nmt_matmul_transposed for CPUs with AVX-512: y = x · wᵀ with w in PyTorch's [out, in] layout.
// A decoding step multiplies a handful of rows (1 for greedy, the beams of a sentence for beam
// search) by every weight matrix, so the product is above all a stream of weight rows, each dotted
// with every input row; the encoder and batched decoding bring more rows through the same tiles.
//
// A tile is 4 weight rows × R input rows (R = 4, 2 or 1) with 16 accumulators in registers: each
// 16-float chunk of k costs R + 4 loads for 4·R multiply-adds. The 4 weight rows (≤ 16 KB) stay in
// L1 while every group of input rows uses them, so each weight is read from memory once per
// product. The 16 accumulators are summed horizontally together by a transpose-and-add tree
// (reduce16_add): about 3 instructions per output instead of 10. On one Zen 4 core (one 512-bit
// FMA per cycle) it ran at 88–97% of peak from 4 rows, 1.0–2.6× OpenBLAS 0.3.21's sgemm from 1 to
// 300 rows. On a core with two FMA pipes (Zen 5) the sums at the end of each tile set its pace
// (~200 of ~270 GFLOP/s), so the engine's f32 matrices are also packed at load for
// matmul_panels_avx512.c, which needs no sums (packing per call would not pay below ~32 rows;
// once per model it does); this kernel serves products without panels (threads capped below
// AVX-512, layers made from bare weight pointers as in the tests).
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

#include <unistd.h>

// y[r, c] = x[r, :] · w[c, :] + bias[c] for r < R and 4 weight rows c (no bias when NULL). With R · 4 · U = 16,
// k is unrolled U times (U partial sums per output), so that each of the 4 weight rows is read in
// runs of U cache lines. Reading 4 rows at once defeats the hardware prefetcher when weights come
// from DRAM (half the bandwidth of one sequential stream here), so the tile prefetches the weights
// 32 rows ahead in address order, at the rate it consumes them (distance and hint measured on
// AMD Zen 4: 54,688 × 512 weights, 4 rows, 5.9 ms → 4.9 ms).
#define TILE(R, U)                                                                                  \
    AVX512 static void tile_##R(const float *x, const float *w, size_t k, const float *bias, float *y, size_t ldy) { \
        const float *ahead = w + 32 * k;                                                              \
        __m512 acc[16];                                                                             \
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();                                  \
        size_t i = 0;                                                                               \
        for (; i + 16 * U <= k; i += 16 * U)                                                        \
            for (int u = 0; u < U; u++) {                                                           \
                __m512 xv[R];                                                                       \
                for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + r * k + i + 16 * u);        \
                for (int c = 0; c < 4; c++) {                                                       \
                    _mm_prefetch((const char *)(ahead + 4 * (i + 16 * u) + 16 * c), _MM_HINT_T2);           \
                    __m512 wv = _mm512_loadu_ps(w + c * k + i + 16 * u);                            \
                    for (int r = 0; r < R; r++)                                                     \
                        acc[(r * 4 + c) * U + u] = _mm512_fmadd_ps(wv, xv[r], acc[(r * 4 + c) * U + u]); \
                }                                                                                   \
            }                                                                                       \
        for (; i < k; i += 16) {                                                                    \
            __mmask16 m = first_lanes(k - i);       \
            __m512 xv[R];                                                                           \
            for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * k + i);            \
            for (int c = 0; c < 4; c++) {                                                           \
                __m512 wv = _mm512_maskz_loadu_ps(m, w + c * k + i);                                \
                for (int r = 0; r < R; r++)                                                         \
                    acc[(r * 4 + c) * U] = _mm512_fmadd_ps(wv, xv[r], acc[(r * 4 + c) * U]);        \
            }                                                                                       \
        }                                                                                           \
        __m512 sums = reduce16_add(acc);                                                            \
        if (U == 1) {                                                                               \
            /* Lanes 4r..4r+3 are row r's 4 outputs: one 128-bit add and store per row. Spilling  \
               the sums and adding them one by one cost a sixth of tile_4's time at k = 256      \
               (96 → 114 GFLOP/s on one Zen 4 core); the results are the same bits. */            \
            __m128 b = bias ? _mm_loadu_ps(bias) : _mm_setzero_ps();                                \
            for (int r = 0; r < R; r++) {                                                           \
                __m128 q = r == 0 ? _mm512_castps512_ps128(sums) : r == 1 ? _mm512_extractf32x4_ps(sums, 1) \
                           : r == 2 ? _mm512_extractf32x4_ps(sums, 2) : _mm512_extractf32x4_ps(sums, 3); \
                _mm_storeu_ps(y + r * ldy, _mm_add_ps(q, b));                                       \
            }                                                                                       \
            return;                                                                                 \
        }                                                                                           \
        float out[16];                                                                              \
        _mm512_storeu_ps(out, sums);                                                                \
        for (int r = 0; r < R; r++)                                                                 \
            for (int c = 0; c < 4; c++) {                                                           \
                float s = 0;                                                                        \
                for (int u = 0; u < U; u++) s += out[(r * 4 + c) * U + u];                          \
                y[r * ldy + c] = s + (bias ? bias[c] : 0);                                              \
            }                                                                                       \
    }

TILE(4, 1)
TILE(2, 2)
TILE(1, 4)

// One output: x · w over k (the columns left over when n is not a multiple of 16).
AVX512 static float dot(const float *x, const float *w, size_t k) {
    __m512 acc = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), acc);
    if (i < k) {
        __mmask16 m = first_lanes(k - i);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, x + i), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

// The input rows of one block stay in L1 while every weight row of the call passes by: two
// thirds of the L1 data cache, the rest for the 4 weight rows of a tile. A tile reads 4 input rows
// per 4 weight rows, so with x in L2 instead a core that does two 512-bit FMAs per cycle (AMD Zen
// 5) waits for L2: on one Zen 5 core (48 KB L1), blocks of 32 KB instead of 256 KB took tiny.bin's
// k = 256 products from 155–165 to 190–200 GFLOP/s at 64–600 rows (peak 270), and k = 1024 from
// 162–178 to 172–183. The weights stream past once per block, from L2 or L3, 4–32 rows' reuse.
// X_BLOCK_BYTES overrides it (for measurements).
static size_t x_block_bytes(void) {
#ifdef X_BLOCK_BYTES
    return X_BLOCK_BYTES;
#else
    static _Thread_local size_t bytes;
    if (!bytes) {
        long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
        bytes = (l1 >= 16 * 1024 && l1 <= 1024 * 1024 ? (size_t)l1 : 32 * 1024) * 2 / 3;
    }
    return bytes;
#endif
}

AVX512 void nmt_matmul_transposed_avx512(const float *x, size_t rows, const float *w, size_t n, size_t k,
                                         const float *bias, float *y, size_t ldy) {
    size_t block = x_block_bytes() / (k * sizeof(float)) / 4 * 4;
    if (block < 4) block = 4;
    for (size_t first = 0; first < rows; first += block) {
        size_t count = rows - first < block ? rows - first : block;
        const float *xb = x + first * k;
        float *yb = y + first * ldy;
        size_t o = 0;
        // Every group of input rows uses the 4 weight rows (at most 4·k floats) while they are in L1.
        for (; o + 4 <= n; o += 4) {
            const float *wo = w + o * k;
            size_t r = 0;
            const float *bo = bias ? bias + o : NULL;
            for (; r + 4 <= count; r += 4) tile_4(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
            for (; r + 2 <= count; r += 2) tile_2(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
            for (; r < count; r++) tile_1(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
        }
        for (; o < n; o++)
            for (size_t r = 0; r < count; r++)
                yb[r * ldy + o] = dot(xb + r * k, w + o * k, k) + (bias ? bias[o] : 0);
    }
}
#endif
