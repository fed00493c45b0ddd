// Declarations shared by CKernels' files, not part of its interface.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "CKernels.h"

// Where key (and value) j of an attention sits: see nmt_attend.
static inline size_t entry_offset(const int32_t *origins, size_t row_stride, size_t stride, size_t j) {
    return (origins ? (size_t)origins[j] * row_stride : 0) + j * stride;
}

#if defined(__x86_64__)
// The AVX-512 kernels (matmul_avx512.c, attend_avx512.c, block_statistics_avx512.c), which
// kernels.c picks when the CPU has AVX-512 and nmt_limit_instruction_set allows it.
void nmt_matmul_transposed_avx512(const float *x, size_t rows, const float *w, size_t n, size_t k, const float *bias,
                                  float *y, size_t ldy);
void nmt_attend_avx512(const float *q, const float *keys, const float *values, size_t stride, const int32_t *origins,
                       size_t row_stride, size_t count, size_t dim, float scale, float *scores, float *out);
void nmt_block_statistics_avx512(const float *x, size_t n, float *maxima, float *sums);
#endif

#endif
