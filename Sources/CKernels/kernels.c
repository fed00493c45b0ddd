#include "internal.h"
#include "vector_exp.h"

#include <stdatomic.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v8f __attribute__((ext_vector_type(8)));
typedef int32_t v8i __attribute__((ext_vector_type(8)));

// Macros rather than functions: a function taking or returning a 256-bit vector would need the
// AVX calling convention in the baseline build.
#define load8(p) ({ v8f _v; memcpy(&_v, (p), sizeof _v); _v; })
#define store8(p, v) do { v8f _t = (v); memcpy((p), &_t, sizeof _t); } while (0)
#define hsum8(v) ({ v8f _h = (v); ((_h.s0 + _h.s4) + (_h.s1 + _h.s5)) + ((_h.s2 + _h.s6) + (_h.s3 + _h.s7)); })
#define hmax8(v) ({ v8f _h = (v); float _m = _h.s0; for (int _i = 1; _i < 8; _i++) _m = _h[_i] > _m ? _h[_i] : _m; _m; })

#define EXP8_BODY(x) VECTOR_EXP(v8f, v8i, x)

// Each of these kernels is compiled twice, for the baseline CPU and for AVX2+FMA, and DISPATCH
// chooses at run time; swish also has an AVX-512 version in its own file (internal.h).
#define KERNELS(SUFFIX, ATTR)                                                          \
    ATTR static float max_##SUFFIX(const float *x, size_t n) {                        \
        size_t i = 0;                                                                 \
        float best = -INFINITY;                                                       \
        if (n >= 8) {                                                                 \
            v8f m = load8(x);                                                         \
            for (i = 8; i + 8 <= n; i += 8) m = __builtin_elementwise_max(m, load8(x + i)); \
            best = hmax8(m);                                                          \
        }                                                                             \
        for (; i < n; i++) best = x[i] > best ? x[i] : best;                          \
        return best;                                                                  \
    }                                                                                 \
    ATTR static size_t first_above_##SUFFIX(const float *x, size_t n, float limit) {  \
        size_t i = 0;                                                                 \
        /* 8 at a time while all are ≤ limit, then the exact index one by one. */     \
        for (; i + 8 <= n; i += 8)                                                    \
            if (!__builtin_reduce_and(load8(x + i) <= limit)) break;                  \
        for (; i < n; i++)                                                            \
            if (!(x[i] <= limit)) return i;                                           \
        return n;                                                                     \
    }                                                                                 \
    ATTR static void swish_##SUFFIX(float *x, size_t n) {                             \
        size_t i = 0;                                                                 \
        for (; i + 8 <= n; i += 8) {                                                  \
            v8f v = load8(x + i), e = -v;                                             \
            store8(x + i, v / (1.0f + EXP8_BODY(e)));                                 \
        }                                                                             \
        for (; i < n; i++) { v8f e = -x[i]; x[i] = x[i] / (1.0f + (EXP8_BODY(e)).s0); } \
    }                                                                                 \
    ATTR static void add_##SUFFIX(const float *x, float *y, size_t n) {               \
        for (size_t i = 0; i < n; i++) y[i] += x[i];                                  \
    }                                                                                 \
    ATTR static float log_sum_exp_of_blocks_##SUFFIX(const float *maxima, const float *sums, size_t blocks) { \
        float m = max_##SUFFIX(maxima, blocks);                                       \
        if (!(m > -INFINITY && m < INFINITY)) return m;                               \
        size_t i = 0;                                                                 \
        v8f s = 0.0f;                                                                 \
        for (; i + 8 <= blocks; i += 8) { v8f v = load8(maxima + i) - m; s += load8(sums + i) * EXP8_BODY(v); } \
        float total = hsum8(s);                                                       \
        for (; i < blocks; i++) { v8f v = maxima[i] - m; total += sums[i] * (EXP8_BODY(v)).s0; } \
        return m + logf(total);                                                       \
    }

KERNELS(base, )

// Attention, layer norm and the softmax block statistics for CPUs without AVX2. The AVX2 and
// AVX-512 versions have files of their own (attend_*.c, elementwise_*.c, block_statistics_*.c)
// and give the same bits as each other; these sum in other orders, so their last bits differ.
static float sum_exp_base(const float *x, size_t n, float shift) {
    size_t i = 0;
    v8f s = 0.0f;
    for (; i + 8 <= n; i += 8) { v8f v = load8(x + i) - shift; s += EXP8_BODY(v); }
    float total = hsum8(s);
    for (; i < n; i++) { v8f v = x[i] - shift; total += (EXP8_BODY(v)).s0; }
    return total;
}

static float exp_inplace_base(float *x, size_t n, float shift) {
    size_t i = 0;
    v8f s = 0.0f;
    for (; i + 8 <= n; i += 8) {
        v8f v = load8(x + i) - shift;
        v8f e = EXP8_BODY(v);
        store8(x + i, e);
        s += e;
    }
    float total = hsum8(s);
    for (; i < n; i++) { v8f v = x[i] - shift; float e = (EXP8_BODY(v)).s0; x[i] = e; total += e; }
    return total;
}

static void scale_base(float *x, size_t n, float a) {
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

static float dot_base(const float *x, const float *y, size_t n) {
    size_t i = 0;
    v8f s = 0.0f;
    for (; i + 8 <= n; i += 8) s += load8(x + i) * load8(y + i);
    float total = hsum8(s);
    for (; i < n; i++) total += x[i] * y[i];
    return total;
}

static void layer_norm_base(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n) {
    size_t i = 0;
    v8f s = 0.0f;
    for (; i + 8 <= n; i += 8) s += load8(x + i);
    float sum = hsum8(s);
    for (; i < n; i++) sum += x[i];
    float mean = sum / (float)n;
    v8f q = 0.0f;
    for (i = 0; i + 8 <= n; i += 8) { v8f c = load8(x + i) - mean; q += c * c; }
    float squares = hsum8(q);
    for (; i < n; i++) { float c = x[i] - mean; squares += c * c; }
    float inv = 1.0f / sqrtf(squares / (float)n + eps);
    for (i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

static void block_statistics_base(const float *x, size_t n, float *maxima, float *sums) {
    size_t b = 0;
    for (; 16 * b + 16 <= n; b++) {
        v8f lo = load8(x + 16 * b), hi = load8(x + 16 * b + 8);
        float m = hmax8(__builtin_elementwise_max(lo, hi));
        v8f l = lo - m, h = hi - m;
        maxima[b] = m;
        if (sums) sums[b] = m == -INFINITY ? 0 : hsum8(EXP8_BODY(l) + EXP8_BODY(h));
    }
    if (16 * b < n) {
        float m = max_base(x + 16 * b, n - 16 * b);
        maxima[b] = m;
        if (sums) sums[b] = m == -INFINITY ? 0 : sum_exp_base(x + 16 * b, n - 16 * b, m);
    }
}

// Attention of one query, in three steps: scores, softmax, weighted sum of values.
static void scaled_scores_base(const float *q, const float *keys, size_t stride, const int32_t *origins,
                               size_t row_stride, size_t count, size_t dim, float scale, float *scores) {
    for (size_t j = 0; j < count; j++) {
        const float *key = keys + entry_offset(origins, row_stride, stride, j);
        scores[j] = dot_base(q, key, dim) * scale;
    }
}

static void softmax_base(float *scores, size_t count) {
    float m = max_base(scores, count);
    scale_base(scores, count, 1 / exp_inplace_base(scores, count, m));
}

// 64 outputs at a time stay in eight registers while every value adds to them.
static void weighted_values_base(const float *weights, const float *values, size_t stride, const int32_t *origins,
                                 size_t row_stride, size_t count, size_t dim, float *out) {
    for (size_t c = 0; c < dim; c += 64) {
        size_t width = dim - c < 64 ? dim - c : 64;
        if (width < 64) {
            for (size_t i = 0; i < width; i++) out[c + i] = 0;
            for (size_t j = 0; j < count; j++) {
                const float *value = values + entry_offset(origins, row_stride, stride, j) + c;
                for (size_t i = 0; i < width; i++) out[c + i] += weights[j] * value[i];
            }
            continue;
        }
        v8f a[8] = {0};
        for (size_t j = 0; j < count; j++) {
            const float *value = values + entry_offset(origins, row_stride, stride, j) + c;
            for (int i = 0; i < 8; i++) a[i] += weights[j] * load8(value + 8 * i);
        }
        for (int i = 0; i < 8; i++) store8(out + c + 8 * i, a[i]);
    }
}

static void attend_base(const float *q, const float *keys, const float *values, size_t stride,
                        const int32_t *origins, size_t row_stride, size_t count, size_t dim, float scale, float *scores,
                        float *out) {
    scaled_scores_base(q, keys, stride, origins, row_stride, count, dim, scale, scores);
    softmax_base(scores, count);
    weighted_values_base(scores, values, stride, origins, row_stride, count, dim, out);
}

// The portable matrix product; AVX2 and AVX-512 CPUs have their own (matmul_avx2.c,
// matmul_avx512.c).
static void matmul_transposed_base(const float *x, size_t rows, const float *w, size_t n, size_t k,
                                   const float *bias, float *y, size_t ldy) {
    for (size_t o = 0; o < n; o++) {
        const float *wo = w + o * k;
        size_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const float *x0 = x + r * k, *x1 = x0 + k, *x2 = x1 + k, *x3 = x2 + k;
            v8f a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            size_t i = 0;
            for (; i + 8 <= k; i += 8) {
                v8f wv = load8(wo + i);
                a0 += wv * load8(x0 + i); a1 += wv * load8(x1 + i);
                a2 += wv * load8(x2 + i); a3 += wv * load8(x3 + i);
            }
            float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
            for (; i < k; i++) { s0 += wo[i] * x0[i]; s1 += wo[i] * x1[i]; s2 += wo[i] * x2[i]; s3 += wo[i] * x3[i]; }
            float *yo = y + r * ldy + o, b = bias ? bias[o] : 0;
            yo[0] = s0 + b;
            yo[ldy] = s1 + b;
            yo[2 * ldy] = s2 + b;
            yo[3 * ldy] = s3 + b;
        }
        for (; r < rows; r++) {
            const float *xr = x + r * k;
            v8f a = 0.0f, b = 0.0f; // two chains hide the FMA latency
            size_t i = 0;
            for (; i + 16 <= k; i += 16) {
                a += load8(wo + i) * load8(xr + i);
                b += load8(wo + i + 8) * load8(xr + i + 8);
            }
            for (; i + 8 <= k; i += 8) a += load8(wo + i) * load8(xr + i);
            float s = hsum8(a + b);
            for (; i < k; i++) s += wo[i] * xr[i];
            y[r * ldy + o] = s + (bias ? bias[o] : 0);
        }
    }
}

// The highest instruction set this thread's kernels may use (nmt_limit_instruction_set).
static _Thread_local int limit = NMT_AVX512;

#if defined(__x86_64__)
KERNELS(avx2, __attribute__((target("avx2,fma"))))

// A CPU feature test, run once; threads may race to fill the cache (with the same value).
static int cached_test(_Atomic int *cache, int (*test)(void)) {
    int value = atomic_load_explicit(cache, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = test();
        atomic_store_explicit(cache, value, memory_order_relaxed);
    }
    return value;
}
static int test_avx2(void) {
    return nmt_process_instruction_set() >= NMT_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int test_avx512(void) { return nmt_process_instruction_set() >= NMT_AVX512 && __builtin_cpu_supports("avx512f"); }
static int has_avx2(void) {
    static _Atomic int cache = -1;
    return limit >= NMT_AVX2 && cached_test(&cache, test_avx2);
}
static int has_avx512(void) {
    static _Atomic int cache = -1;
    return limit >= NMT_AVX512 && cached_test(&cache, test_avx512);
}

#define DISPATCH(NAME, ...) return has_avx2() ? NAME##_avx2(__VA_ARGS__) : NAME##_base(__VA_ARGS__)
// For the kernels that also have an AVX-512 version, nmt_NAME_avx512 (internal.h).
#define DISPATCH_AVX512(NAME, ...) \
    return has_avx512() ? nmt_##NAME##_avx512(__VA_ARGS__) \
           : has_avx2() ? NAME##_avx2(__VA_ARGS__) : NAME##_base(__VA_ARGS__)
// For the kernels whose AVX2 version also has its own file, nmt_NAME_avx2 (internal.h). Those of
// attention, layer norm and the block statistics give the AVX-512 versions' bits; the
// dot-product matrix kernels (matmul_avx2.c, matmul_avx512.c, for matrices without panels) do not.
#define DISPATCH_OWN(NAME, ...) \
    return has_avx512() ? nmt_##NAME##_avx512(__VA_ARGS__) \
           : has_avx2() ? nmt_##NAME##_avx2(__VA_ARGS__) : NAME##_base(__VA_ARGS__)
#else
#define DISPATCH(NAME, ...) return NAME##_base(__VA_ARGS__)
#define DISPATCH_AVX512(NAME, ...) DISPATCH(NAME, __VA_ARGS__)
#define DISPATCH_OWN(NAME, ...) DISPATCH(NAME, __VA_ARGS__)
#endif

float nmt_max(const float *x, size_t n) { DISPATCH(max, x, n); }
size_t nmt_first_above(const float *x, size_t n, float limit) { DISPATCH(first_above, x, n, limit); }
static void swish(float *x, size_t n) { DISPATCH_AVX512(swish, x, n); }
void nmt_activate(nmt_activation f, float *x, size_t n) {
    switch (f) {
    case NMT_IDENTITY:
        return;
    case NMT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        return;
    case NMT_SWISH:
        swish(x, n);
        return;
    case NMT_GELU:
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1 + erff(x[i] * 0.70710678118654752f));
        return;
    }
}
void nmt_add(const float *x, float *y, size_t n) { DISPATCH(add, x, y, n); }
void nmt_layer_norm(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n) {
    DISPATCH_OWN(layer_norm, x, gamma, beta, eps, y, n);
}
void nmt_attend(const float *q, const float *keys, const float *values, size_t stride, const int32_t *origins,
                size_t row_stride, size_t count, size_t dim, float scale, float *scores, float *out) {
    DISPATCH_OWN(attend, q, keys, values, stride, origins, row_stride, count, dim, scale, scores, out);
}
void nmt_block_statistics(const float *x, size_t n, float *maxima, float *sums) {
    DISPATCH_OWN(block_statistics, x, n, maxima, sums);
}
float nmt_log_sum_exp_of_blocks(const float *maxima, const float *sums, size_t blocks) {
    DISPATCH(log_sum_exp_of_blocks, maxima, sums, blocks);
}
void nmt_matmul_transposed(const float *x, size_t rows, const float *w, size_t n, size_t k, const float *bias, float *y,
                           size_t ldy) {
    DISPATCH_OWN(matmul_transposed, x, rows, w, n, k, bias, y, ldy);
}

size_t nmt_panel_floats(size_t n, size_t k) { return (n + 15) / 16 * 16 * k; }

void nmt_pack_panels(const float *w, size_t n, size_t k, float *panels) {
    for (size_t p = 0; p < (n + 15) / 16; p++)
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < 16; c++) {
                size_t o = 16 * p + c;
                panels[(p * k + i) * 16 + c] = o < n ? w[o * k + i] : 0;
            }
}

int nmt_panels_preferred(void) {
#if defined(__x86_64__)
    static _Atomic int cache = -1;
    return cached_test(&cache, test_avx2);
#else
    return 0;
#endif
}

int nmt_matmul_panels(const float *x, size_t rows, const float *panels, size_t n, size_t k, const float *bias,
                      float *y, size_t ldy, float *maxima, float *sums, size_t ldm) {
#if defined(__x86_64__)
    if (has_avx512()) {
        nmt_matmul_panels_avx512(x, rows, panels, n, k, bias, y, ldy, maxima, sums, ldm);
        return 1;
    }
    if (!has_avx2()) return 0;
    nmt_matmul_panels_avx2(x, rows, panels, n, k, bias, y, ldy);
    // The statistics in a pass over the rows just written (in L2: products.c runs a product
    // with statistics in chunks of columns).
    if (maxima)
        for (size_t r = 0; r < rows; r++)
            nmt_block_statistics_avx2(y + r * ldy, n, maxima + r * ldm, sums ? sums + r * ldm : NULL);
    return 1;
#else
    return 0;
#endif
}

void nmt_limit_instruction_set(nmt_instruction_set highest) { limit = highest; }

int nmt_thread_instruction_set(void) { return limit; }

int nmt_process_instruction_set(void) {
    const char *cap = getenv("NMT_ISA");
    if (!cap || !*cap || !strcmp(cap, "avx512")) return NMT_AVX512;
    if (!strcmp(cap, "avx2")) return NMT_AVX2;
    if (!strcmp(cap, "generic")) return NMT_BASELINE;
    return -1;
}

int nmt_cpu_supports(nmt_instruction_set set) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    switch (set) {
    case NMT_BASELINE: return 1;
    case NMT_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NMT_AVX512: return __builtin_cpu_supports("avx512f");
    }
    return 0;
#else
    return set == NMT_BASELINE;
#endif
}
