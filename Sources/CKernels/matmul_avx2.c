// nmt_matmul_transposed for CPUs with AVX2 and FMA but not AVX-512 (AMD Zen 2 and 3, Intel before
// Skylake-X and the client cores without it): y = x · wᵀ with w in PyTorch's [out, in] layout.
// A model's products read its weights packed in panels instead (matmul_panels_avx2.c); this
// kernel serves matrices without panels.
// The same plan as matmul_avx512.c, fitted to 16 ymm registers instead of 32 zmm ones.
//
// A tile is 4 weight rows × R input rows (R = 3, 2 or 1). With R = 3, 12 accumulators + 3 input
// vectors + 1 weight vector fill the 16 registers, and each 8-float chunk of k costs 7 loads for 12
// multiply-adds (2 loads per cycle keep both FMA pipes busy on Zen 2). R = 2 and R = 1 (with k
// unrolled twice) keep 8 accumulators, enough chains to cover the FMA latency (4 cycles × 2 pipes).
// The 4 weight rows stay in L1 while every group of input rows uses them, so each weight is read
// from memory once per product; the accumulators are summed horizontally together by a
// transpose-and-add tree (reduce8_add) instead of one horizontal sum per output. On one Zen 4 core
// capped at AVX2 (whose 256-bit FMA peak there is the same ~115 GFLOP/s as with 512 bits), this
// runs at 83–93 GFLOP/s from 4 rows and 90–107 from 16, against 45–62 for the single-row-of-weights
// loop kernels.c used before (1.4–2.7× faster); 1 row stays bound by reading the weights.
#include "internal.h"

#if defined(__x86_64__)
#include "avx2.h"

#define INLINE static inline __attribute__((always_inline))

// Lane i of the result is the sum of the 8 lanes of a[i]: 14 shuffles and 7 adds for 8 outputs.
AVX2 INLINE __m256 reduce8_add(const __m256 a[8]) {
    // [a0 a1 a0 a1] partials in each 128-bit half, for the pairs (a0, a1), (a2, a3), ...
    __m256 b[4];
    for (int i = 0; i < 4; i++)
        b[i] = _mm256_add_ps(_mm256_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm256_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    // [a0 a1 a2 a3] partials in each half of c[0], [a4 a5 a6 a7] in each half of c[1].
    __m256 c[2];
    for (int i = 0; i < 2; i++)
        c[i] = _mm256_add_ps(_mm256_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm256_add_ps(_mm256_permute2f128_ps(c[0], c[1], 0x20), _mm256_permute2f128_ps(c[0], c[1], 0x31));
}

// Lane i of the result is the sum of the 8 lanes of a[i], for 4 registers.
AVX2 INLINE __m128 reduce4_add(const __m256 a[4]) {
    __m256 b0 = _mm256_add_ps(_mm256_unpacklo_ps(a[0], a[1]), _mm256_unpackhi_ps(a[0], a[1]));
    __m256 b1 = _mm256_add_ps(_mm256_unpacklo_ps(a[2], a[3]), _mm256_unpackhi_ps(a[2], a[3]));
    __m256 c = _mm256_add_ps(_mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
}

// y[r, c] = x[r, :] · w[c, :] + bias[c] for r < R and 4 weight rows c (no bias when NULL), with the
// partial sums of row r, unroll step u and weight row c in acc[(u · R + r) · 4 + c], R · U ≤ 3.
// Like matmul_avx512.c, the tile prefetches the weights 32 rows ahead in address order, at the rate
// it consumes them (4 rows × 32 bytes per chunk: 2 cache lines), because reading 4 rows at once
// defeats the hardware prefetcher when the weights come from DRAM.
#define TILE(R, U)                                                                                    \
    AVX2 static void tile_##R(const float *x, const float *w, size_t k, const float *bias, float *y, size_t ldy) { \
        const float *ahead = w + 32 * k;                                                              \
        __m256 acc[12];                                                                               \
        for (int a = 0; a < 4 * R * U; a++) acc[a] = _mm256_setzero_ps();                             \
        size_t i = 0;                                                                                 \
        for (; i + 8 * U <= k; i += 8 * U)                                                            \
            for (int u = 0; u < U; u++) {                                                             \
                size_t j = i + 8 * u;                                                                 \
                _mm_prefetch((const char *)(ahead + 4 * j), _MM_HINT_T2);                             \
                _mm_prefetch((const char *)(ahead + 4 * j + 16), _MM_HINT_T2);                        \
                __m256 xv[R];                                                                         \
                for (int r = 0; r < R; r++) xv[r] = _mm256_loadu_ps(x + r * k + j);                   \
                for (int c = 0; c < 4; c++) {                                                         \
                    __m256 wv = _mm256_loadu_ps(w + c * k + j);                                       \
                    for (int r = 0; r < R; r++)                                                       \
                        acc[(u * R + r) * 4 + c] = _mm256_fmadd_ps(wv, xv[r], acc[(u * R + r) * 4 + c]); \
                }                                                                                     \
            }                                                                                         \
        for (; i < k; i += 8) {                                                                       \
            __m256i m = first_lanes8((ptrdiff_t)(k - i));                                             \
            __m256 xv[R];                                                                             \
            for (int r = 0; r < R; r++) xv[r] = _mm256_maskload_ps(x + r * k + i, m);                 \
            for (int c = 0; c < 4; c++) {                                                             \
                __m256 wv = _mm256_maskload_ps(w + c * k + i, m);                                     \
                for (int r = 0; r < R; r++) acc[r * 4 + c] = _mm256_fmadd_ps(wv, xv[r], acc[r * 4 + c]); \
            }                                                                                         \
        }                                                                                             \
        __m128 b = bias ? _mm_loadu_ps(bias) : _mm_setzero_ps();                                      \
        if (R * U == 1) {                                                                             \
            _mm_storeu_ps(y, _mm_add_ps(reduce4_add(acc), b));                                        \
            return;                                                                                   \
        }                                                                                             \
        /* Lanes 0–3: the first 4 accumulators' sums (row 0); lanes 4–7: the next 4 (row 1, or row \
           0's second unroll step). */                                                                \
        __m256 sums = reduce8_add(acc);                                                               \
        __m128 lo = _mm256_castps256_ps128(sums), hi = _mm256_extractf128_ps(sums, 1);                \
        if (U == 2) {                                                                                 \
            _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(lo, hi), b));                                      \
            return;                                                                                   \
        }                                                                                             \
        _mm_storeu_ps(y, _mm_add_ps(lo, b));                                                          \
        _mm_storeu_ps(y + ldy, _mm_add_ps(hi, b));                                                    \
        if (R == 3) _mm_storeu_ps(y + 2 * ldy, _mm_add_ps(reduce4_add(acc + 8), b));                  \
    }

TILE(3, 1)
TILE(2, 1)
TILE(1, 2)

// One output: x · w over k (the weight rows left over when n is not a multiple of 4).
AVX2 static float dot(const float *x, const float *w, size_t k) {
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) {
        a = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a);
        b = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), b);
    }
    for (; i < k; i += 8) {
        __m256i m = first_lanes8((ptrdiff_t)(k - i));
        a = _mm256_fmadd_ps(_mm256_maskload_ps(w + i, m), _mm256_maskload_ps(x + i, m), a);
    }
    __m256 s = _mm256_add_ps(a, b);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

// As in matmul_avx512.c: the input rows of one block, at most X_BLOCK_BYTES of them, stay in L2
// (512 KB on Zen 2 and 3, 256 KB to 1 MB on Intel) while every weight row of the call passes by.
#ifndef X_BLOCK_BYTES
#define X_BLOCK_BYTES (256 * 1024)
#endif

AVX2 void nmt_matmul_transposed_avx2(const float *x, size_t rows, const float *w, size_t n, size_t k,
                                     const float *bias, float *y, size_t ldy) {
    size_t block = X_BLOCK_BYTES / (k * sizeof(float)) / 6 * 6;
    if (block < 6) block = 6;
    for (size_t first = 0; first < rows; first += block) {
        size_t count = rows - first < block ? rows - first : block;
        const float *xb = x + first * k;
        float *yb = y + first * ldy;
        size_t o = 0;
        // Every group of input rows uses the 4 weight rows (at most 4·k floats) while they are in L1.
        for (; o + 4 <= n; o += 4) {
            const float *wo = w + o * k;
            const float *bo = bias ? bias + o : NULL;
            size_t r = 0;
            // Groups of 3, but 4 left over go as 2 + 2 rather than 3 + 1.
            for (; r + 3 <= count && count - r != 4; r += 3) tile_3(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
            for (; r + 2 <= count; r += 2) tile_2(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
            for (; r < count; r++) tile_1(xb + r * k, wo, k, bo, yb + r * ldy + o, ldy);
        }
        for (; o < n; o++)
            for (size_t r = 0; r < count; r++)
                yb[r * ldy + o] = dot(xb + r * k, w + o * k, k) + (bias ? bias[o] : 0);
    }
}
#endif
