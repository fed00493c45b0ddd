// nmt_matmul_panels for CPUs with AVX2 and FMA but not AVX-512: y = x · wᵀ from the same panels
// as matmul_panels_avx512.c (panel p holds output columns 16p ..< 16p + 16 as [k, 16]), each
// panel row read as two 256-bit halves. A tile of R input rows × P panels keeps 2·P·R
// accumulators: per position of k, 2·P weight loads and R broadcasts of x feed 2·P·R
// multiply-adds, and the outputs need no horizontal sums at the end. The main tile is 6 rows × 1
// panel (BLIS's 6 × 16 for AVX2): 12 accumulators, 2 weight vectors and a broadcast in the 16
// registers.
//
// Why panels here too: matmul_avx2.c dots weight rows with input rows and sums 8 partial sums
// per output at the end of every tile. From 16 rows it is as fast (both within a few percent of
// the 256-bit peak on one Zen 5 core capped at AVX2), but with few rows or weights from memory
// this kernel is faster (4 rows 60 against 51 GMAC/s, 1 row 29 against 23; k = 1,024 from
// memory 65 against 60), and whole translations took 2–3% less (docs/PERFORMANCE.md).
//
// Each output is summed in order of k in one lane from zero and the bias added last, the
// operations matmul_panels_avx512.c does: the same bits on an AVX2 and an AVX-512 CPU, whatever
// tile made a row.
#include "internal.h"

#if defined(__x86_64__)
#include "avx2.h"

#include <string.h>

// Stores the 16 outputs of one panel for one row: acc (two halves) plus the bias; only the first
// `valid` columns exist. Masked stores are slow on AMD, so a partial panel goes through a copy.
AVX2 static inline void store_panel(float *y, __m256 lo, __m256 hi, const float *bias, size_t valid) {
    if (valid == 16) {
        __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
        __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
        _mm256_storeu_ps(y, _mm256_add_ps(lo, b0));
        _mm256_storeu_ps(y + 8, _mm256_add_ps(hi, b1));
        return;
    }
    float b[16] = {0}, out[16];
    if (bias) memcpy(b, bias, valid * sizeof(float));
    _mm256_storeu_ps(out, _mm256_add_ps(lo, _mm256_loadu_ps(b)));
    _mm256_storeu_ps(out + 8, _mm256_add_ps(hi, _mm256_loadu_ps(b + 8)));
    memcpy(y, out, valid * sizeof(float));
}

// y[r, 0 ..< 16·P] (columns < `valid` only) = x[r, :] · panels p, p + 1, … + bias, for r < R.
// Positions ahead_first ..< ahead_first + ahead_count of the panel at `ahead` are asked for on
// the way: the tiles over one panel share the next panel out among them.
#define TILE(R, P)                                                                                   \
    AVX2 static void tile_##R##x##P(const float *x, size_t k, const float *p, const float *bias,      \
                                    size_t valid, float *y, size_t ldy, const float *ahead,           \
                                    size_t ahead_first, size_t ahead_count) {                         \
        __m256 a[R][2 * P];                                                                          \
        for (int r = 0; r < R; r++)                                                                  \
            for (int j = 0; j < 2 * P; j++) a[r][j] = _mm256_setzero_ps();                           \
        for (size_t i = 0; i < k; i++) {                                                             \
            if (i - ahead_first < ahead_count) _mm_prefetch((const char *)(ahead + 16 * i), _MM_HINT_T0); \
            __m256 w[2 * P];                                                                         \
            _Pragma("unroll") for (int j = 0; j < 2 * P; j++)                                        \
                w[j] = _mm256_loadu_ps(p + (j / 2) * 16 * k + 16 * i + 8 * (j % 2));                 \
            _Pragma("unroll") for (int r = 0; r < R; r++) {                                          \
                __m256 xv = _mm256_broadcast_ss(x + r * k + i);                                      \
                _Pragma("unroll") for (int j = 0; j < 2 * P; j++) a[r][j] = _mm256_fmadd_ps(w[j], xv, a[r][j]); \
            }                                                                                        \
        }                                                                                            \
        for (int q = 0; q < P; q++) {                                                                \
            size_t columns = valid > 16 * (size_t)q ? valid - 16 * q : 0;                            \
            if (columns > 16) columns = 16;                                                          \
            for (int r = 0; r < R && columns; r++)                                                   \
                store_panel(y + r * ldy + 16 * q, a[r][2 * q], a[r][2 * q + 1], bias ? bias + 16 * q : NULL, columns); \
        }                                                                                            \
    }

TILE(6, 1)
TILE(5, 1)
TILE(4, 1)
TILE(3, 1)
TILE(2, 1)
TILE(1, 1)
// 1–3 rows left over: two panels at a time, so that 1 and 2 rows still have 4 and 8 chains of
// multiply-adds to hide their latency.
TILE(3, 2)
TILE(2, 2)
TILE(1, 2)

// R rows (at most 6) over P panels from panel p.
AVX2 static void tile(size_t R, size_t P, const float *x, size_t k, const float *p, const float *bias, size_t valid,
                      float *y, size_t ldy, const float *ahead, size_t ahead_first, size_t ahead_count) {
    if (P == 2) {
        if (R == 3) tile_3x2(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count);
        else if (R == 2) tile_2x2(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count);
        else tile_1x2(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count);
        return;
    }
    switch (R) {
    case 6: tile_6x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    case 5: tile_5x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    case 4: tile_4x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    case 3: tile_3x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    case 2: tile_2x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    default: tile_1x1(x, k, p, bias, valid, y, ldy, ahead, ahead_first, ahead_count); break;
    }
}

// Input rows in blocks that stay in L2 (rows_in_l2) while the panels stream past them once; each
// panel (16 KB at k = 256) stays in L1 while the block's tiles use it.
AVX2 void nmt_matmul_panels_avx2(const float *x, size_t rows, const float *panels, size_t n, size_t k,
                                 const float *bias, float *y, size_t ldy) {
    size_t count = (n + 15) / 16, block = rows_in_l2(k) / 6 * 6;
    for (size_t first = 0; first < rows; first += block) {
        size_t end = rows - first < block ? rows : first + block;
        size_t sixes = first + (end - first) / 6 * 6, left = end - sixes;
        size_t tiles = (sixes - first) / 6 + (left > 0);
        for (size_t p = 0; p < count; p++) {
            size_t c = 16 * p;
            const float *pp = panels + c * k, *b = bias ? bias + c : NULL;
            // While this panel's tiles run, they ask for the next panel, each for its share of k;
            // past the last panel that asks for bytes never read (a prefetch cannot fault).
            const float *ahead = pp + 16 * k;
            size_t share = (k + tiles - 1) / tiles, from = 0;
            for (size_t r = first; r < sixes; r += 6, from += share)
                tile(6, 1, x + r * k, k, pp, b, n - c, y + r * ldy + c, ldy, ahead, from, share);
            // The rows left over: 4 or 5 as the last tile over this panel, with its share of the
            // next; 1–3 over this panel and the next at once (no such tile runs over the next),
            // asking for the part of the panel after it that the next panel's tiles will not.
            if (left >= 4 || (left && p + 1 == count && p % 2 == 0))
                tile(left, 1, x + sixes * k, k, pp, b, n - c, y + sixes * ldy + c, ldy, ahead, from, share);
            else if (left && p % 2 == 0)
                tile(left, 2, x + sixes * k, k, pp, b, n - c, y + sixes * ldy + c, ldy, ahead + 16 * k, from,
                     k - from);
        }
    }
}
#endif
