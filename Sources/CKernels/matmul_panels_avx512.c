// nmt_matmul_panels for CPUs with AVX-512: y = x · wᵀ from w packed in panels (nmt_pack_panels):
// panel p holds output columns 16p ..< 16p + 16 as [k, 16], so one 512-bit load is the weights of
// 16 outputs at one position of k. A tile of R input rows × 2 panels keeps 2·R accumulators of 16
// outputs each: per position of k, 2 weight loads and R broadcasts of x feed 2·R multiply-adds,
// and the outputs need no horizontal sums at the end.
//
// Why panels: matmul_avx512.c dots weight rows (w as stored) with input rows and must reduce 16
// partial sums per output at the end of each tile, about 3 instructions per output that compete
// with the multiply-adds. On a core with two 512-bit FMA pipes (AMD Zen 5) that tree, not the
// arithmetic, set its pace: ~200 of the core's ~270 GFLOP/s for tiny.bin's products from 16 rows
// up, and 43–48 at one row. From panels: 255–280 from 16 rows, 230–240 at 4 rows, 59–73 at one row
// (one Zen 5 core, docs/PERFORMANCE.md). Each output is summed in order of k in one lane, whatever
// the tile, so a row's results do not depend on the rows computed with it.
#include "internal.h"

#if defined(__x86_64__)
#include "avx512.h"

// Register i of a tile's statistics: block i % B of row i / B of its outputs y, −∞ where the
// tile has no such block (the rows and blocks nmt_block_statistics sees, in the same lanes).
AVX512 static inline __m512 statistics_block(const float *y, size_t ldy, int R, int B, const __mmask16 *m, int i) {
    int r = i / B, b = i % B;
    __m512 v = _mm512_set1_ps(-INFINITY);
    if (r < R && m[b])
        v = m[b] == 0xFFFF ? _mm512_loadu_ps(y + r * ldy + 16 * b) : _mm512_mask_loadu_ps(v, m[b], y + r * ldy + 16 * b);
    return v;
}

// Lanes 0 ..< R · B of `values` to out[r, b] (row stride ldm), blocks that exist only.
AVX512 static inline void store_statistics(__m512 values, int R, int B, const __mmask16 *m, float *out, size_t ldm) {
    float lanes[16];
    _mm512_storeu_ps(lanes, values);
    for (int i = 0; i < R * B; i++)
        if (m[i % B]) out[(i / B) * ldm + i % B] = lanes[i];
}

// An 8-row tile whose statistics are still to compute, by the next 8-row tile inside its loop, so
// that they overlap with its multiply-adds. Computed right after the tile's own loop, the ~400
// instructions of statistics filled the core's window and ran mostly alone: the output projection
// at 256 rows ran at 127 GMAC/s without statistics, 110–113 with them; overlapped, 115–118 (one
// Zen 5 core, weights from memory). The same operations on the same values: the same bits.
struct pending {
    const float *y;
    size_t ldy;
    __mmask16 m[2];
    float *maxima, *sums;  // sums: NULL when only the maxima are wanted
    size_t ldm;
};

AVX512 static inline __m512 pending_block(const struct pending *p, int i) {
    return statistics_block(p->y, p->ldy, 8, 2, p->m, i);
}

// The maxima of the pending tile's 16 blocks, stored; returned for its sums.
AVX512 static inline __m512 pending_maxima(const struct pending *p) {
    __m512 v[16];
    for (int i = 0; i < 16; i++) v[i] = pending_block(p, i);
    __m512 top = reduce16_max(v);
    store_statistics(top, 8, 2, p->m, p->maxima, p->ldm);
    return top;
}

// Tiles that ask for their outputs' lines with PREFETCHW (every AVX-512 CPU has it).
#define AVX512_PREFETCHW __attribute__((target("avx512f,prfchw")))

// A full block is stored unmasked: a load of it soon after (tile_statistics) is then forwarded
// from the store, which a masked store does not allow.
AVX512 static inline void store16(float *y, __mmask16 m, __m512 v) {
    if (m == 0xFFFF) _mm512_storeu_ps(y, v);
    else _mm512_mask_storeu_ps(y, m, v);
}

// Position i of k in a tile of R rows: its share of the next panels asked for, then the
// multiply-adds.
#define PANEL_STEP(R)                                                                                \
    {                                                                                                \
        if (i - ahead_first < ahead_count) {                                                         \
            _mm_prefetch((const char *)(ahead + 16 * i), _MM_HINT_T0);                                \
            _mm_prefetch((const char *)(ahead + 16 * (k + i)), _MM_HINT_T0);                          \
        }                                                                                            \
        __m512 w0 = _mm512_loadu_ps(p0 + 16 * i), w1 = _mm512_loadu_ps(p1 + 16 * i);                \
        for (int r = 0; r < R; r++) {                                                                \
            __m512 xv = _mm512_set1_ps(x[r * k + i]);                                                \
            a0[r] = _mm512_fmadd_ps(w0, xv, a0[r]);                                                  \
            a1[r] = _mm512_fmadd_ps(w1, xv, a1[r]);                                                  \
        }                                                                                            \
    }

// y[r, 0 ..< 32] (masked by m0, m1) = x[r, :] · the two panels + bias, for r < R. before: NULL, or
// an earlier 8-row tile whose statistics this one computes on the way (see struct pending).
#define PANEL_TILE(R)                                                                                \
    AVX512_PREFETCHW static void tile_##R(const float *x, size_t k, const float *p0, const float *p1, const float *bias, \
                                __mmask16 m0, __mmask16 m1, float *y, size_t ldy, const float *ahead, \
                                size_t ahead_first, size_t ahead_count, const struct pending *before) { \
        __m512 a0[R], a1[R];                                                                         \
        for (int r = 0; r < R; r++) a0[r] = a1[r] = _mm512_setzero_ps();                             \
        /* The outputs' lines, asked for ownership now: a decoding step's keys and values go to */   \
        /* cache slots that are not in cache, and the stores at the end would wait for them. */     \
        for (int r = 0; r < R; r++) {                                                                \
            __builtin_prefetch(y + r * ldy, 1, 3);                                                   \
            __builtin_prefetch(y + r * ldy + 31, 1, 3);                                              \
        }                                                                                            \
        /* The earlier tile's statistics: its maxima now, its exponentials one block per 16 */      \
        /* positions of k, its sums after the loop. */                                              \
        __m512 top = before ? pending_maxima(before) : _mm512_setzero_ps(), e[16];                   \
        int exps = before && before->sums ? 0 : 16;                                                  \
        size_t i = 0;                                                                                \
        for (; exps < 16 && i + 16 <= k; exps++) {                                                   \
            e[exps] = block_exp(pending_block(before, exps), top, exps);                             \
            for (size_t end = i + 16; i < end; i++) PANEL_STEP(R)                                    \
        }                                                                                            \
        for (; i < k; i++) PANEL_STEP(R)                                                             \
        if (before && before->sums) {                                                                \
            for (; exps < 16; exps++) e[exps] = block_exp(pending_block(before, exps), top, exps);   \
            store_statistics(sums_of_block_exps(e, top), 8, 2, before->m, before->sums, before->ldm); \
        }                                                                                            \
        __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();                    \
        __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();               \
        for (int r = 0; r < R; r++) {                                                                \
            store16(y + r * ldy, m0, _mm512_add_ps(a0[r], b0));                                      \
            store16(y + r * ldy + 16, m1, _mm512_add_ps(a1[r], b1));                                 \
        }                                                                                            \
    }

// 8 rows: 16 accumulators, the 2 weight vectors and a broadcast fit the 32 registers with room;
// 12 rows (24 accumulators) measured at half the speed, spilling.
PANEL_TILE(8)
PANEL_TILE(4)
PANEL_TILE(2)
PANEL_TILE(1)

// y[r, 0 ..< 64] (panel q masked by m[q]) = x[r, :] · panels p[0..3] + bias, for R ≤ 3 rows: the
// rows left over after the 8- and 4-row tiles. A tile of 1 or 2 rows × 2 panels has 2 or 4
// accumulators, too few to hide the multiply-add latency (a quarter or half of the core's
// pace); 4 panels give them 4–12, and the panels are still in L1 or L2 from the other tiles.
#define QUAD_TILE(R)                                                                                 \
    AVX512 static void quad_##R(const float *x, size_t k, const float *const p[4], const float *bias, \
                                const __mmask16 m[4], float *y, size_t ldy) {                         \
        __m512 a[R][4];                                                                              \
        for (int r = 0; r < R; r++)                                                                  \
            for (int q = 0; q < 4; q++) a[r][q] = _mm512_setzero_ps();                               \
        for (size_t i = 0; i < k; i++) {                                                             \
            __m512 w[4];                                                                             \
            _Pragma("unroll") for (int q = 0; q < 4; q++) w[q] = _mm512_loadu_ps(p[q] + 16 * i);     \
            _Pragma("unroll") for (int r = 0; r < R; r++) {                                          \
                __m512 xv = _mm512_set1_ps(x[r * k + i]);                                            \
                _Pragma("unroll") for (int q = 0; q < 4; q++) a[r][q] = _mm512_fmadd_ps(w[q], xv, a[r][q]); \
            }                                                                                        \
        }                                                                                            \
        for (int q = 0; q < 4; q++) {                                                                \
            __m512 b = bias ? _mm512_maskz_loadu_ps(m[q], bias + 16 * q) : _mm512_setzero_ps();      \
            for (int r = 0; r < R; r++) store16(y + r * ldy + 16 * q, m[q], _mm512_add_ps(a[r][q], b));  \
        }                                                                                            \
    }

QUAD_TILE(3)
QUAD_TILE(2)
QUAD_TILE(1)

// The block statistics (nmt_block_statistics) of a tile's R rows × B blocks (R · B ≤ 16, block b
// masked by m[b]) from the outputs it just stored, still in L1: each block is one register of
// the same 16-register reduction that nmt_block_statistics uses, whose result for a register does
// not depend on its place among the 16, so the statistics are the same bits as that pass over
// y would give, without reading y back from L2 or L3.
AVX512 static inline __attribute__((always_inline)) void tile_statistics(const float *y, size_t ldy, int R, int B,
                                                                          const __mmask16 *m, float *maxima,
                                                                          float *sums, size_t ldm) {
    __m512 v[16];
    _Pragma("unroll") for (int i = 0; i < 16; i++) v[i] = statistics_block(y, ldy, R, B, m, i);
    __m512 top = reduce16_max(v);
    store_statistics(top, R, B, m, maxima, ldm);
    if (sums) store_statistics(block_sums16(v, top), R, B, m, sums, ldm);
}

// Input rows per pass over the panels: a block of about 256 KB stays in L2 while the panels
// stream past it once; 2 panels (32 KB at k = 256) stay in L1 while the block's tiles use them.
AVX512 void nmt_matmul_panels_avx512(const float *x, size_t rows, const float *panels, size_t n, size_t k,
                                     const float *bias, float *y, size_t ldy, float *maxima, float *sums,
                                     size_t ldm) {
    size_t count = (n + 15) / 16, block = rows_in_l2(k);
    for (size_t first = 0; first < rows; first += block) {
        size_t end = rows - first < block ? rows : first + block;
        // Rows in tiles of 8 and 4 pair by pair; the 1–3 left over, 4 panels at a time (quad_R),
        // when there are such tiles to stream the panels in; a block of fewer than 4 rows runs
        // pair by pair in tiles of 2 and 1.
        size_t paired = end - first >= 4 ? first + ((end - first) & ~(size_t)3) : end, left = end - paired;
        size_t tiles = (paired - first) / 8 + ((paired - first) % 8 >= 4) + ((paired - first) % 4 >= 2) +
                       (paired - first) % 2;
        for (size_t p = 0; p < count; p += 2) {
            size_t c = 16 * p;
            // A last single panel runs as the first of a pair whose second is itself, not stored.
            const float *p0 = panels + c * k, *p1 = p + 1 < count ? p0 + 16 * k : p0;
            __mmask16 m0 = first_lanes(n - c), m1 = p + 1 < count ? first_lanes(n - c - 16) : 0;
            const float *b = bias ? bias + c : NULL;
            // While the block's tiles use this pair, they ask for the next one, each tile for its
            // share of k: two streams 16 KB apart defeat the hardware prefetcher. The last pair
            // asks for the panels after it too, which the next call reads when a product runs in
            // chunks of columns (its output projection, its feed-forward layer: +3-7% for them);
            // past the end of the panels it asks for bytes that are never read, and a prefetch
            // cannot fault.
            const float *ahead = p0 + 32 * k;
            size_t share = (k + tiles - 1) / tiles, from = 0;
            size_t r = first;
            const __mmask16 pair[2] = {m0, m1};
#define AHEAD ahead, from, share
            // 8-row tiles: each computes the statistics of the one before it (struct pending).
            struct pending pending, *before = NULL;
            for (; r + 8 <= paired; r += 8, from += share) {
                tile_8(x + r * k, k, p0, p1, b, m0, m1, y + r * ldy + c, ldy, AHEAD, before);
                if (maxima) {
                    pending = (struct pending){y + r * ldy + c, ldy, {m0, m1}, maxima + r * ldm + p,
                                               sums ? sums + r * ldm + p : NULL, ldm};
                    before = &pending;
                }
            }
            if (before) tile_statistics(before->y, ldy, 8, 2, pair, before->maxima, before->sums, ldm);
#define TILE(R)                                                                                       \
    for (; r + R <= paired; r += R, from += share) {                                                  \
        tile_##R(x + r * k, k, p0, p1, b, m0, m1, y + r * ldy + c, ldy, AHEAD, NULL);                 \
        if (maxima)                                                                                   \
            tile_statistics(y + r * ldy + c, ldy, R, 2, pair, maxima + r * ldm + p, sums ? sums + r * ldm + p : NULL, ldm); \
    }
            TILE(4)
            TILE(2)
            TILE(1)
#undef TILE
#undef AHEAD
            // After every second pair (and the last), the rows left over run over its 4 panels.
            if (left && (p % 4 == 2 || p + 2 >= count)) {
                size_t g = p - p % 4;  // the group's first panel
                const float *pp[4];
                __mmask16 mm[4];
                for (size_t q = 0; q < 4; q++) {
                    int real = g + q < count;  // a missing panel reads the first one and is not stored
                    pp[q] = panels + 16 * (real ? g + q : g) * k;
                    mm[q] = real ? first_lanes(n - 16 * (g + q)) : 0;
                }
                const float *bg = bias ? bias + 16 * g : NULL;
                float *yg = y + paired * ldy + 16 * g;
                const float *xr = x + paired * k;
                float *mg = maxima ? maxima + paired * ldm + g : NULL, *sg = sums ? sums + paired * ldm + g : NULL;
#define QUAD(R)                                                                                       \
    do {                                                                                              \
        quad_##R(xr, k, pp, bg, mm, yg, ldy);                                                         \
        if (maxima) tile_statistics(yg, ldy, R, 4, mm, mg, sg, ldm);                                  \
    } while (0)
                if (left == 3) QUAD(3);
                else if (left == 2) QUAD(2);
                else QUAD(1);
#undef QUAD
            }
        }
    }
}
#endif
