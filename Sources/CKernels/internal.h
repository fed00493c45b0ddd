// Declarations shared by CKernels' files, not part of its interface.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "CKernels.h"

// Where key (and value) j of an attention sits: see nmt_attend.
static inline size_t entry_offset(const int32_t *origins, size_t row_stride, size_t stride, size_t j) {
    return (origins ? (size_t)origins[j] * row_stride : 0) + j * stride;
}

// Input rows of k floats that fill about 256 KB (at least 8): a block of them stays in L2 while
// the weights stream past it (the panel kernel's row blocks, the bands of products.c).
static inline size_t rows_in_l2(size_t k) {
    size_t rows = 256 * 1024 / (k * sizeof(float));
    return rows < 8 ? 8 : rows;
}

#if defined(__x86_64__)
// The AVX-512 kernels (matmul_avx512.c, attend_avx512.c, block_statistics_avx512.c), which
// kernels.c picks when the CPU has AVX-512 and nmt_limit_instruction_set allows it.
void nmt_matmul_transposed_avx512(const float *x, size_t rows, const float *w, size_t n, size_t k, const float *bias,
                                  float *y, size_t ldy);
void nmt_attend_avx512(const float *q, const float *keys, const float *values, size_t stride, const int32_t *origins,
                       size_t row_stride, size_t count, size_t dim, float scale, float *scores, float *out);
void nmt_block_statistics_avx512(const float *x, size_t n, float *maxima, float *sums);
// Swish and layer norm with 16 lanes (elementwise_avx512.c).
void nmt_swish_avx512(float *x, size_t n);
void nmt_layer_norm_avx512(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n);
// The AVX-512 product from weights packed in panels (matmul_panels_avx512.c).
void nmt_matmul_panels_avx512(const float *x, size_t rows, const float *panels, size_t n, size_t k,
                              const float *bias, float *y, size_t ldy, float *maxima, float *sums, size_t ldm);
// Attention, block statistics and layer norm for AVX2 with the AVX-512 versions' bits
// (attend_avx2.c, block_statistics_avx2.c, elementwise_avx2.c).
void nmt_attend_avx2(const float *q, const float *keys, const float *values, size_t stride, const int32_t *origins,
                     size_t row_stride, size_t count, size_t dim, float scale, float *scores, float *out);
void nmt_block_statistics_avx2(const float *x, size_t n, float *maxima, float *sums);
void nmt_layer_norm_avx2(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n);
// The AVX2 product from the same panels (matmul_panels_avx2.c): the same bits as the AVX-512 one.
void nmt_matmul_panels_avx2(const float *x, size_t rows, const float *panels, size_t n, size_t k,
                            const float *bias, float *y, size_t ldy);
// The AVX2 + FMA matrix product (matmul_avx2.c), picked when AVX2 is allowed and AVX-512 is not.
void nmt_matmul_transposed_avx2(const float *x, size_t rows, const float *w, size_t n, size_t k, const float *bias,
                                float *y, size_t ldy);
#endif

// ---- int8 products (quantized.c, quantized_avx512.c, quantized_avx2.c) ----

// The calling thread's nmt_limit_instruction_set (kept in kernels.c), which the int8 kernels obey too.
int nmt_thread_instruction_set(void);

// One output of an int8 product, the same expression in every version so that they agree bit for
// bit: the exact integer sum, scaled back, plus the bias (0 without one).
static inline float nmt_i8_output(int32_t sum, float xscale, float wscale, float bias) {
    return (float)sum / (xscale * wscale) + bias;
}

// Writes the R × C outputs of a tile of an int8 product from its integer sums: lane
// (r · C + c) · U + u holds part u of the sum of input row r with weight row c. With wsum, the
// sums are of (x + 128) · w and lose 128 · wsum[c] (in unsigned arithmetic, which wraps like the
// vector adds, so a partial sum past int32 still ends exact). The vector versions' tiles do the
// same in registers; this scalar form writes their left-over columns.
static inline void nmt_i8_tile_outputs(const int32_t *lanes, int R, int C, int U, const int32_t *wsum,
                                       const float *xscale, const float *wscale, const float *bias, float *y,
                                       size_t ldy) {
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            uint32_t s = wsum ? 0u - 128u * (uint32_t)wsum[c] : 0;
            for (int u = 0; u < U; u++) s += (uint32_t)lanes[(r * C + c) * U + u];
            y[r * ldy + c] = nmt_i8_output((int32_t)s, xscale[r], wscale[c], bias ? bias[c] : 0);
        }
}

// Input rows per pass over the weights: a block of about 256 KB of activations stays in L2 while
// the weights stream past it once.
static inline size_t nmt_i8_row_block(size_t k) {
    size_t rows = ((size_t)256 * 1024 / (k ? k : 1)) & ~(size_t)3;
    return rows < 4 ? 4 : rows;
}

#if defined(__x86_64__)
void nmt_matmul_i8_vnni(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                        const int32_t *wsum, size_t n, size_t k, const float *bias, float *y, size_t ldy);
void nmt_matmul_i8_avx512bw(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq,
                            const float *wscale, size_t n, size_t k, const float *bias, float *y, size_t ldy);
void nmt_matmul_i8_avx2(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                        size_t n, size_t k, const float *bias, float *y, size_t ldy);
void nmt_quantize_rows_avx512(const float *x, size_t rows, size_t k, int8_t *q, float *scales);
void nmt_quantize_rows_avx2(const float *x, size_t rows, size_t k, int8_t *q, float *scales);
#endif

#endif
