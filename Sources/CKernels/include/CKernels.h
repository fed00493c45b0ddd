// Vector kernels for the engine's hot loops, in C so that they can carry per-function CPU targets
// (AVX2 + FMA or AVX-512, picked at run time when the CPU has them) without build flags, and the
// thread pool that runs the engine's parallel regions.
#ifndef C_KERNELS_H
#define C_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// max over x[0..<n] (-inf for n = 0).
float nmt_max(const float *x, size_t n);
/// sum over i of exp(x[i] - shift).
float nmt_sum_exp(const float *x, size_t n, float shift);
/// x[i] = exp(x[i] - shift); returns the sum.
float nmt_exp_inplace(float *x, size_t n, float shift);
/// x[i] = x[i] / (1 + exp(-x[i])) (SiLU).
void nmt_swish(float *x, size_t n);
/// x[i] *= a.
void nmt_scale(float *x, size_t n, float a);
/// y[i] += x[i].
void nmt_add(const float *x, float *y, size_t n);
/// y[i] += a * x[i].
void nmt_axpy(const float *x, float a, float *y, size_t n);
/// sum of x[i] * y[i].
float nmt_dot(const float *x, const float *y, size_t n);
/// y = (x - mean) / sqrt(var + eps) * gamma + beta over one row of n (y may be x).
void nmt_layer_norm(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n);
/// y[r, o] = x[r, :] . w[o, :] + beta * y[r, o] for r < rows, o < n, with x [rows, k], w [n, k]
/// (PyTorch's Linear layout), y rows ldy apart: every matrix product of the engine. Weights are
/// read in place, never packed, so memory-mapped model files are used as they are.
void nmt_matmul_transposed(const float *x, size_t rows, const float *w, size_t n, size_t k, float beta, float *y,
                           size_t ldy);
/// The index of the first maximum of x[0..<n].
size_t nmt_argmax(const float *x, size_t n);

/// One chunk of a parallel region.
typedef void (*nmt_task)(void *context, size_t chunk);
/// Runs task(context, c) for c in 0..<chunks, chunk 0 on the calling thread and the others on
/// pool threads (created on first use, spinning briefly between regions); returns when all are
/// done. Nested or concurrent regions run serially on their calling thread.
void nmt_parallel(nmt_task task, void *context, size_t chunks);

#ifdef __cplusplus
}
#endif

#endif
