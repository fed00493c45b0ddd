// Vector kernels for the engine's hot loops, in C so that they can carry per-function CPU targets
// (AVX2 + FMA or AVX-512, picked at run time when the CPU has them) without build flags, and the
// thread pool that runs the engine's parallel regions.
#ifndef C_KERNELS_H
#define C_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A set of worker threads that runs parallel regions for one owner (a Translator): regions of
/// different pools run at the same time. `threads` counts the calling thread.
typedef struct nmt_pool nmt_pool;
nmt_pool *nmt_pool_create(size_t threads);
/// Stops and joins the pool's threads; no region may be running on it.
void nmt_pool_destroy(nmt_pool *pool);
size_t nmt_pool_threads(const nmt_pool *pool);
/// The cores this process may run on: its CPU affinity, lowered by a cgroup v2 CPU quota.
size_t nmt_available_cores(void);
/// glibc: serve blocks up to 32 MiB from the heap and keep up to 128 MiB freed for reuse
/// (process-wide; see Allocator.reuseFreedMemory), unless MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TRIM_THRESHOLD_ or a glibc.malloc tunable in GLIBC_TUNABLES is set. Elsewhere: nothing.
void nmt_reuse_freed_memory(void);
/// Hands the free pages of every malloc arena back to the system (glibc's malloc_trim; nothing
/// elsewhere): after nmt_reuse_freed_memory, freed memory otherwise stays with the process.
void nmt_return_free_memory(void);
/// Uninitialized room for `count` floats from a 64-byte boundary (a cache line), or NULL; free it
/// with nmt_free_floats. From malloc, a few bytes more, rather than posix_memalign, whose
/// split-off remainders kept glibc from reusing freed blocks as well (a beam-4 run over the
/// 1,000 test lines: 72,000 page faults and 285 MB peak instead of 60,000 and 270 MB).
float *nmt_alloc_floats(size_t count);
void nmt_free_floats(float *p);

/// max over x[0..<n] (-inf for n = 0).
float nmt_max(const float *x, size_t n);
/// The first i with !(x[i] <= limit) (a NaN counts as above), or n.
size_t nmt_first_above(const float *x, size_t n, float limit);
/// An activation applied in place: relu max(x, 0); swish x / (1 + exp(-x)) (PyTorch's SiLU);
/// gelu the exact erf form 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default GELU).
typedef enum { NMT_IDENTITY = 0, NMT_RELU, NMT_SWISH, NMT_GELU } nmt_activation;
void nmt_activate(nmt_activation f, float *x, size_t n);
/// y[i] += x[i].
void nmt_add(const float *x, float *y, size_t n);
/// y = (x - mean) / sqrt(var + eps) * gamma + beta over one row of n (y may be x).
void nmt_layer_norm(const float *x, const float *gamma, const float *beta, float eps, float *y, size_t n);
/// y[r, o] = x[r, :] . w[o, :] + bias[o] for r < rows, o < n, with x [rows, k], w [n, k]
/// (PyTorch's Linear layout), bias [n] or NULL, y rows ldy apart: every matrix product of the
/// engine. Weights are read in place, never packed, so memory-mapped model files are used as they are.
void nmt_matmul_transposed(const float *x, size_t rows, const float *w, size_t n, size_t k, const float *bias, float *y,
                           size_t ldy);
/// For each block of 16 values of x[0..<n] (the last may be shorter): its maximum, and the sum
/// of exp(x[i] - maximum) over it. Statistics of fixed blocks do not depend on how a product was
/// split over threads, so log-sum-exp combined from them is the same for every thread count.
/// sums NULL: the maxima only (a greedy search that reports no scores needs only the argmax).
void nmt_block_statistics(const float *x, size_t n, float *maxima, float *sums);
/// log sum exp over the values that `blocks` block statistics describe.
float nmt_log_sum_exp_of_blocks(const float *maxima, const float *sums, size_t blocks);
/// One query's attention over `count` keys: out[0..<dim] = sum over j of softmax_j(scale * q . key_j)
/// * value_j. Key j is at keys + o(j) and value j at values + o(j), with
/// o(j) = origins[j] * row_stride + j * stride (origins NULL: o(j) = j * stride), which reads a
/// beam's history wherever the cache stores it. scores: scratch of [count], which holds the
/// softmax weights on return; count >= 1.
void nmt_attend(const float *q, const float *keys, const float *values, size_t stride, const int32_t *origins,
                size_t row_stride, size_t count, size_t dim, float scale, float *scores, float *out);
/// One head of one sequence in an attention region: `queries` queries, query i seeing keys
/// 0..<min(key_count, first_visible + i) (first_visible = key_count: all of them; smaller: causal).
/// Keys and values are addressed as nmt_attend does.
typedef struct {
    const float *q;  /// [queries, ldq]
    float *out;      /// [queries, ldo]
    const float *keys;
    const float *values;
    const int32_t *origins;  /// or NULL
    size_t row_stride, stride;
    size_t queries, ldq, ldo;
    size_t key_count, first_visible;
    float *probabilities;  /// NULL, or [queries, ldp]: query i's softmax weights are written to
    size_t ldp;            /// its row (the keys it saw; the rest of the row is left as it is)
} nmt_attention_job;

/// Runs attention jobs over up to `threads` threads. scores: scratch of [threads, score_stride],
/// score_stride at least the largest key_count.
void nmt_attention(nmt_pool *pool, const nmt_attention_job *jobs, size_t count, size_t dim, float scale,
                   float *scores, size_t score_stride, size_t threads);

/// One product of a parallel region: y[r, o] = activation(x[r, :] . weight[o, :] + bias[o]).
/// The weights are either f32 (`weight`) or int8 (`qweight`, with `qscale` and `qsum`: the
/// products then quantize x per row and accumulate in int32, see nmt_matmul_i8).
typedef struct {
    const float *weight;  /// [n, k], or NULL with qweight
    /// NULL, or weight packed by nmt_pack_panels: used instead of `weight` by threads that run
    /// the AVX2 or AVX-512 kernels (nmt_matmul_panels).
    const float *panels;
    const int8_t *qweight;  /// [n, k] int8, or NULL
    const float *qscale;    /// [n]: qweight[o, :] / qscale[o] are the weights
    const int32_t *qsum;    /// [n]: nmt_i8_row_sums of qweight
    const float *bias;    /// [n] or NULL
    float *y;             /// [rows, n], rows ldy apart
    size_t n;
    size_t ldy;           /// at least n (a decoder step's keys and values go straight into their cache)
    nmt_activation activation;
    /// Both NULL, or [rows, nmt_product_blocks(n)]: nmt_block_statistics of each row of y, computed
    /// while its blocks are in cache (log-softmax over a vocabulary without another pass);
    /// block_sum NULL alone: the maxima only.
    float *block_max;
    float *block_sum;
} nmt_product;

/// Floats that nmt_pack_panels writes for a [n, k] matrix: ceil(n / 16) panels of [k, 16].
size_t nmt_panel_floats(size_t n, size_t k);
/// w [n, k] (PyTorch's [out, in]) as panels: panel p is [k, 16], output columns 16p ..< 16p + 16
/// side by side at each position of k, zero past n. The f32 product kernels for AVX-512 and AVX2
/// read them (one load = 16 or 8 outputs' weights at one position of k, no horizontal sums).
void nmt_pack_panels(const float *w, size_t n, size_t k, float *panels);
/// Whether this process's products would read panels: the CPU has AVX2 (and FMA) or AVX-512, and
/// NMT_ISA allows it.
/// A model packs its f32 matrices when it loads only then.
int nmt_panels_preferred(void);
/// y = x · wᵀ + bias from w's panels (columns 0 ..< n; `panels` starts at the panel of column 0),
/// if the calling thread runs AVX2 or AVX-512 kernels; returns 0 without computing anything
/// otherwise (the caller then uses w as stored). Both sum each output in order of k in one lane:
/// the same bits with either. maxima: NULL, or [rows, ldm] that receives nmt_block_statistics of
/// each row's blocks 0 ..< nmt_product_blocks(n) (sums NULL: the maxima only), the same bits,
/// gathered while each tile's outputs are in L1 (AVX-512) or L2 (AVX2, a pass after the product).
int nmt_matmul_panels(const float *x, size_t rows, const float *panels, size_t n, size_t k, const float *bias,
                      float *y, size_t ldy, float *maxima, float *sums, size_t ldm);

/// Products that share their input x [rows, k], in one parallel region over up to `threads`
/// threads, split in blocks of 16 output columns.
void nmt_products(nmt_pool *pool, const float *x, size_t rows, size_t k, const nmt_product *products, size_t count, size_t threads);
/// Blocks of 16 columns in n (the size of an nmt_product's block statistics per row).
size_t nmt_product_blocks(size_t n);

/// The instruction sets the kernels choose from at run time, each used only when the CPU has it.
typedef enum { NMT_BASELINE = 0, NMT_AVX2, NMT_AVX512 } nmt_instruction_set;
/// Keeps the kernels that the calling thread runs at or below `highest` (NMT_AVX512, the default,
/// allows all; the pool's threads keep theirs), so that tests reach every version of a kernel on
/// one machine.
void nmt_limit_instruction_set(nmt_instruction_set highest);
/// The process-wide cap from the environment variable NMT_ISA (`avx512`, `avx2` or `generic`;
/// unset or empty: no cap), read when the kernels first test the CPU; -1 for any other value.
/// Like CTranslate2's CT2_FORCE_CPU_ISA: measures an AVX2-only machine on an AVX-512 one.
int nmt_process_instruction_set(void);
/// Whether this CPU has an instruction set (whatever the caps).
int nmt_cpu_supports(nmt_instruction_set set);

/// One chunk of a parallel region.
typedef void (*nmt_task)(void *context, size_t chunk);
/// Runs task(context, c) for c in 0..<chunks, chunk 0 on the calling thread and the others on
/// the pool's threads (created on first use, spinning briefly between regions, then sleeping);
/// returns when all are done. Nested regions, concurrent regions on one pool, a NULL pool and
/// more chunks than the pool's threads run serially on the calling thread.
void nmt_parallel(nmt_pool *pool, nmt_task task, void *context, size_t chunks);
/// A piece begin..<end of a claimed region.
typedef void (*nmt_range_task)(void *context, size_t begin, size_t end);
/// Runs task over pieces covering 0..<count on up to `threads` threads: thread c works through the
/// c-th contiguous share in shrinking pieces, then takes pieces from the back of the others'
/// shares; for work that may run in any order.
void nmt_parallel_claims(nmt_pool *pool, nmt_range_task task, void *context, size_t count, size_t threads);

/* ---- int8 matrix products (quantized.c, quantized_avx512.c, quantized_avx2.c) ---- */

/// Symmetric int8 quantization of rows (CTranslate2's scheme): scales[r] = 127 / max|x[r, :]|
/// (1 for an all-zero row), q[r, i] = x[r, i] · scales[r] rounded to nearest, ties to even, which
/// lies in [-127, 127]. x finite, [rows, k]; q [rows, k]; scales [rows]. Every version gives the
/// same bits.
void nmt_quantize_rows(const float *x, size_t rows, size_t k, int8_t *q, float *scales);
/// sums[o] = sum over i of w[o, i] for w [n, k]: what the VNNI product (u8 · s8) needs to undo the
/// +128 shift of the activations. Compute it once, when weights are loaded or quantized.
void nmt_i8_row_sums(const int8_t *w, size_t n, size_t k, int32_t *sums);
/// y[r, o] = (float)(sum over i of xq[r, i] · wq[o, i]) / (xscale[r] · wscale[o]) + bias[o] for
/// r < rows, o < n, the sum exact in int32; every version gives the same bits. xq [rows, k] and
/// wq [n, k] (PyTorch's Linear layout), both with values in [-127, 127] (nmt_quantize_rows' range:
/// -128 would break the AVX2 and AVX-512BW versions), k ≤ 131072 (so the sum fits in int32); any
/// alignment, no padding. wsum [n] from nmt_i8_row_sums; bias [n] or NULL; y rows ldy apart.
/// A thread's block of columns o0..<o1 is the call with wq + o0·k, wscale + o0, wsum + o0,
/// bias + o0, y + o0. No scratch memory.
void nmt_matmul_i8(const int8_t *xq, const float *xscale, size_t rows, const int8_t *wq, const float *wscale,
                   const int32_t *wsum, size_t n, size_t k, const float *bias, float *y, size_t ldy);
/// The versions of the int8 kernels, each used only when the CPU has it: VNNI (AVX-512 VNNI,
/// vpdpbusd), AVX-512BW without VNNI, AVX2, and portable C.
typedef enum { NMT_I8_PORTABLE = 0, NMT_I8_AVX2, NMT_I8_AVX512BW, NMT_I8_VNNI } nmt_i8_kernel;
/// Keeps the int8 kernels that the calling thread runs at or below `highest` (NMT_I8_VNNI, the
/// default, allows all), on top of nmt_limit_instruction_set (NMT_AVX2 allows up to NMT_I8_AVX2,
/// NMT_BASELINE only the portable one) and the NMT_ISA cap: tests reach every version this way.
void nmt_limit_i8_kernel(nmt_i8_kernel highest);
/// The version the calling thread's int8 kernels use now (CPU, NMT_ISA and both limits).
nmt_i8_kernel nmt_i8_kernel_in_use(void);
/// Whether this CPU has what a version needs (whatever the caps).
int nmt_i8_cpu_supports(nmt_i8_kernel kernel);

#ifdef __cplusplus
}
#endif

#endif
