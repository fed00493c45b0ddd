// int8 matrix products: the portable versions, the weight row sums, and the choice of version.
//
// Weights are quantized once per output row and activations per input row (CTranslate2's
// symmetric scheme), so a product is integer dot products scaled back by two floats. int8
// weights are a quarter of the bytes of float ones, and a decoding step is mostly a stream of
// weights from memory. The sums are exact in int32, so every version gives the same bits and a
// test can compare them with integer arithmetic.
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

// One row's scale and quantized values. |x · scale| ≤ 127 · (1 + ε)², which rounds to at most
// 127, so no clamp is needed. rintf rounds ties to even in the default rounding mode, as the
// vector versions' conversions do.
static void quantize_row(const float *x, size_t k, int8_t *q, float *scale) {
    float m = 0;
    for (size_t i = 0; i < k; i++) m = fmaxf(m, fabsf(x[i]));
    float s = m > 0 ? 127 / m : 1;
    for (size_t i = 0; i < k; i++) q[i] = (int8_t)rintf(x[i] * s);
    *scale = s;
}

static void quantize_rows_portable(const float *x, size_t rows, size_t k, int8_t *q, float *scales) {
    for (size_t r = 0; r < rows; r++) quantize_row(x + r * k, k, q + r * k, scales + r);
}

void nmt_i8_row_sums(const int8_t *w, size_t n, size_t k, int32_t *sums) {
    for (size_t o = 0; o < n; o++) {
        int32_t s = 0;
        for (size_t i = 0; i < k; i++) s += w[o * k + i];
        sums[o] = s;
    }
}

static int32_t dot_i8(const int8_t *x, const int8_t *w, size_t k) {
    int32_t s = 0;
    for (size_t i = 0; i < k; i++) s += (int32_t)x[i] * w[i];
    return s;
}

// Each weight row is dotted with every input row while it is in L1.
static void matmul_i8_portable(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq,
                               const float *wscale, size_t n, size_t k, const float *bias, float *y, size_t ldy) {
    for (size_t o = 0; o < n; o++)
        for (size_t r = 0; r < rows; r++)
            y[r * ldy + o] = nmt_i8_output(dot_i8(xq + r * k, wq + o * k, k), xscale[r], wscale[o], bias ? bias[o] : 0);
}

// ---- Choice of version ----

// The calling thread's nmt_limit_i8_kernel.
static _Thread_local nmt_i8_kernel i8_limit = NMT_I8_VNNI;

int nmt_i8_cpu_supports(nmt_i8_kernel kernel) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    switch (kernel) {
    case NMT_I8_PORTABLE: return 1;
    case NMT_I8_AVX2: return __builtin_cpu_supports("avx2");
    case NMT_I8_AVX512BW: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    case NMT_I8_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    }
    return 0;
#else
    return kernel == NMT_I8_PORTABLE;
#endif
}

// The highest int8 version an instruction set level allows (nmt_instruction_set, or -1 for an
// unknown NMT_ISA, which kernels.c also treats as the baseline).
static nmt_i8_kernel highest_for(int set) {
    return set >= NMT_AVX512 ? NMT_I8_VNNI : set >= NMT_AVX2 ? NMT_I8_AVX2 : NMT_I8_PORTABLE;
}

// The best version for this CPU under NMT_ISA, found once; threads may race to fill the cache
// (with the same value).
static nmt_i8_kernel process_best(void) {
    static _Atomic int cache = -1;
    int best = atomic_load_explicit(&cache, memory_order_relaxed);
    if (best < 0) {
        best = highest_for(nmt_process_instruction_set());
        while (best > NMT_I8_PORTABLE && !nmt_i8_cpu_supports((nmt_i8_kernel)best)) best--;
        atomic_store_explicit(&cache, best, memory_order_relaxed);
    }
    return (nmt_i8_kernel)best;
}

nmt_i8_kernel nmt_i8_kernel_in_use(void) {
    nmt_i8_kernel best = process_best(), thread = highest_for(nmt_thread_instruction_set());
    if (thread < best) best = thread;
    if (i8_limit < best) best = i8_limit;
    // The versions do not nest (AVX-512BW without AVX2 is no CPU's, but a limit may land on a
    // version the CPU lacks below the best one), so step down to one it has.
    while (best > NMT_I8_PORTABLE && !nmt_i8_cpu_supports(best)) best--;
    return best;
}

void nmt_limit_i8_kernel(nmt_i8_kernel highest) { i8_limit = highest; }

void nmt_quantize_rows(const float *x, size_t rows, size_t k, int8_t *q, float *scales) {
    switch (nmt_i8_kernel_in_use()) {
#if defined(__x86_64__)
    case NMT_I8_VNNI:
    case NMT_I8_AVX512BW: return nmt_quantize_rows_avx512(x, rows, k, q, scales);
    case NMT_I8_AVX2: return nmt_quantize_rows_avx2(x, rows, k, q, scales);
#endif
    default: return quantize_rows_portable(x, rows, k, q, scales);
    }
}

void nmt_matmul_i8(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                   const int32_t *wsum, size_t n, size_t k, const float *bias, float *y, size_t ldy) {
    switch (nmt_i8_kernel_in_use()) {
#if defined(__x86_64__)
    case NMT_I8_VNNI: return nmt_matmul_i8_vnni(xq, xscale, rows, wq, wscale, wsum, n, k, bias, y, ldy);
    case NMT_I8_AVX512BW: return nmt_matmul_i8_avx512bw(xq, xscale, rows, wq, wscale, n, k, bias, y, ldy);
    case NMT_I8_AVX2: return nmt_matmul_i8_avx2(xq, xscale, rows, wq, wscale, n, k, bias, y, ldy);
#endif
    default: return matmul_i8_portable(xq, xscale, rows, wq, wscale, n, k, bias, y, ldy);
    }
}
