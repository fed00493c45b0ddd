// Our matrix kernels against oneDNN's GEMMs on the engine's shapes (tools/kernel_bench/run.sh
// builds and runs it; not part of the Swift build).
//
//   int8: nmt_matmul_i8 (activations already quantized per row, int32 sums scaled back to floats
//         in the kernel) against dnnl_gemm_u8s8s32 called the way CTranslate2 calls it: the
//         activations shifted to u8 (+128) and a per-column offset -128 · Σ w added to C ('R'),
//         computed once per weight matrix (CTranslate2's compute_u8_compensation); C is int32.
//         "onednn+dq" adds CTranslate2's separate dequantization pass (C / (xscale · wscale)).
//   f32:  nmt_matmul_transposed against dnnl_sgemm, both y = x · wᵀ with w [n, k] (no bias).
//
// One process runs one implementation (so that oneDNN's OpenMP threads and our pool's threads
// never spin against each other on a 2-core machine), over every shape and row count asked for,
// and prints one line per measurement: best of --repeats timed batches of calls, each batch at
// least --batch-ms long. "cold" cycles through enough copies of the weights (≥ 256 MB) that every
// call reads them from memory, as batch-1 decoding of a model bigger than the L3 does; "hot"
// repeats one copy. --check compares the results: int8 exactly (oneDNN's int32 sums against a
// plain C sum, ours against the same sums scaled by internal.h's nmt_i8_output), f32 within
// 1e-5 of Σ|x·w| against a double-precision reference.
#define _GNU_SOURCE
#include "internal.h"  // Sources/CKernels: nmt_i8_output, the dequantization every version uses

#include <oneapi/dnnl/dnnl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void omp_set_num_threads(int);  // libgomp, oneDNN's threading runtime in Debian's build

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(void) {  // in [-1, 1)
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
// --dist normal: Gaussian values (Box–Muller), whose row maximum is ~4σ, so that most quantized
// values are small, as in trained layers; uniform ones fill [-127, 127] evenly, the worst case
// for 16-bit pair sums (vpmaddubsw).
static int normal;
static float sample(void) {
    if (!normal) return uniform();
    float u = 0.5f * (uniform() + 1.0f) + 1e-7f, v = uniform();
    return sqrtf(-2.0f * logf(u)) * cosf(3.14159265f * v);
}

static void *big(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); exit(1); }
    return p;
}

enum { OURS, ONEDNN, ONEDNN_DQ };
static int impl, is_i8, threads = 1, cold, repeats = 7, check;
static double batch_ms = 30;
static nmt_pool *pool;

// Everything one measurement needs; weights in `copies` copies.
typedef struct {
    size_t m, n, k, copies;
    float *x, *w, *y;          // f32: x [m, k], w [copies][n, k], y [m, n]
    int8_t *xq, *wq;           // i8: xq [m, k] in [-127, 127], wq [copies][n, k]
    uint8_t *xu;               // xq + 128 for oneDNN
    float *xscale, *wscale;    // [m], [n] (the same scales for every copy)
    int32_t *wsum, *comp, *c;  // [n], [n] = -128 · wsum, [m, n]
    size_t copy;               // the copy the next call reads
} problem;

// A piece of a product for our pool: columns [16 · begin, 16 · end).
static void our_piece(void *context, size_t begin, size_t end) {
    const problem *p = context;
    size_t o0 = begin * 16, o1 = end * 16 < p->n ? end * 16 : p->n;
    size_t k = p->k, c = p->copy;
    if (is_i8)
        nmt_matmul_i8(p->xq, p->xscale, p->m, p->wq + (c * p->n + o0) * k, p->wscale + o0, p->wsum + o0, o1 - o0, k,
                      NULL, p->y + o0, p->n);
    else
        nmt_matmul_transposed(p->x, p->m, p->w + (c * p->n + o0) * k, o1 - o0, k, NULL, p->y + o0, p->n);
}

static void call(problem *p) {
    size_t m = p->m, n = p->n, k = p->k, c = p->copy;
    if (impl == OURS) {
        if (threads == 1) our_piece(p, 0, (n + 15) / 16);
        else nmt_parallel_claims(pool, our_piece, p, (n + 15) / 16, (size_t)threads);
    } else if (is_i8) {
        dnnl_status_t s = dnnl_gemm_u8s8s32('N', 'T', 'R', (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, 1.0f, p->xu,
                                            (dnnl_dim_t)k, 0, p->wq + c * n * k, (dnnl_dim_t)k, 0, 0.0f, p->c,
                                            (dnnl_dim_t)n, p->comp);
        if (s != dnnl_success) { fprintf(stderr, "dnnl_gemm_u8s8s32: status %d\n", (int)s); exit(1); }
        if (impl == ONEDNN_DQ)  // CTranslate2's Dequantize op, a separate pass over C
            for (size_t r = 0; r < m; r++)
                for (size_t o = 0; o < n; o++)
                    p->y[r * n + o] = (float)p->c[r * n + o] * (1.0f / (p->xscale[r] * p->wscale[o]));
    } else {
        dnnl_status_t s = dnnl_sgemm('N', 'T', (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, 1.0f, p->x, (dnnl_dim_t)k,
                                     p->w + c * n * k, (dnnl_dim_t)k, 0.0f, p->y, (dnnl_dim_t)n);
        if (s != dnnl_success) { fprintf(stderr, "dnnl_sgemm: status %d\n", (int)s); exit(1); }
    }
    p->copy = (p->copy + 1) % p->copies;
}

static problem make(size_t m, size_t n, size_t k) {
    problem p = {m, n, k, 1};
    size_t bytes = n * k * (is_i8 ? 1 : 4);
    if (cold) p.copies = ((size_t)256 << 20) / bytes + 1;
    p.x = big(m * k * 4), p.y = big(m * n * 4);
    for (size_t i = 0; i < m * k; i++) p.x[i] = sample();
    float *w = big(n * k * 4);
    for (size_t i = 0; i < n * k; i++) w[i] = sample() * 0.05f;
    if (is_i8) {
        p.xq = big(m * k), p.xu = big(m * k), p.xscale = big(m * 4);
        nmt_quantize_rows(p.x, m, k, p.xq, p.xscale);
        for (size_t i = 0; i < m * k; i++) p.xu[i] = (uint8_t)(p.xq[i] + 128);
        p.wq = big(p.copies * n * k), p.wscale = big(n * 4);
        nmt_quantize_rows(w, n, k, p.wq, p.wscale);
        for (size_t c = 1; c < p.copies; c++) memcpy(p.wq + c * n * k, p.wq, n * k);
        p.wsum = big(n * 4), p.comp = big(n * 4), p.c = big(m * n * 4);
        nmt_i8_row_sums(p.wq, n, k, p.wsum);
        for (size_t o = 0; o < n; o++) p.comp[o] = -128 * p.wsum[o];
        free(w);
    } else {
        p.w = big(p.copies * n * k * 4);
        memcpy(p.w, w, n * k * 4);
        for (size_t c = 1; c < p.copies; c++) memcpy(p.w + c * n * k, w, n * k * 4);
        free(w);
    }
    return p;
}

static void release(problem *p) {
    free(p->x), free(p->y), free(p->w), free(p->xq), free(p->wq), free(p->xu), free(p->xscale), free(p->wscale);
    free(p->wsum), free(p->comp), free(p->c);
}

// Whether the last call's results are right (see the top); prints the first mismatch.
static int verify(const problem *p) {
    size_t m = p->m, n = p->n, k = p->k, bad = 0;
    double worst = 0;
    for (size_t r = 0; r < m; r++)
        for (size_t o = 0; o < n; o++) {
            if (is_i8) {
                int32_t s = 0;
                for (size_t i = 0; i < k; i++) s += (int32_t)p->xq[r * k + i] * p->wq[o * k + i];
                if (impl == OURS) {
                    float want = nmt_i8_output(s, p->xscale[r], p->wscale[o], 0);
                    if (memcmp(&want, &p->y[r * n + o], 4) && !bad++)
                        fprintf(stderr, "row %zu col %zu: ours %.9g, exact %.9g\n", r, o, p->y[r * n + o], want);
                } else if (p->c[r * n + o] != s && !bad++) {
                    fprintf(stderr, "row %zu col %zu: oneDNN %d, exact %d\n", r, o, p->c[r * n + o], s);
                }
                if (impl != OURS && p->c[r * n + o] != s) worst = fmax(worst, fabs((double)p->c[r * n + o] - s));
            } else {
                double s = 0, a = 0;
                for (size_t i = 0; i < k; i++)
                    s += (double)p->x[r * k + i] * p->w[o * k + i], a += fabs((double)p->x[r * k + i] * p->w[o * k + i]);
                double e = fabs(p->y[r * n + o] - s) / (a > 0 ? a : 1);
                worst = fmax(worst, e);
                if (e > 1e-5 && !bad++) fprintf(stderr, "row %zu col %zu: %.9g, reference %.9g\n", r, o, p->y[r * n + o], s);
            }
        }
    if (bad) {
        fprintf(stderr, "  %zu of %zu outputs wrong (largest error %g)\n", bad, m * n, worst);
        printf("# wrong %s %zux%zu rows %zu: %zu of %zu outputs, largest error %g\n", is_i8 ? "i8" : "f32", n, k, m, bad,
               m * n, worst);
    }
    return bad == 0;
}

static const char *names[] = {"ours", "onednn", "onednn+dq"};

int main(int argc, char **argv) {
    const char *shapes = "512x512,2048x512,512x2048,54688x512,256x256,1024x256,256x1024,8001x256";
    const char *rows = "1,2,4,8,16,32,64";
    const char *isa = "native";
    for (int a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : "";
        if (!strcmp(argv[a], "--impl")) impl = !strcmp(v, "ours") ? OURS : ONEDNN, a++;
        else if (!strcmp(argv[a], "--dtype")) is_i8 = !strcmp(v, "i8"), a++;
        else if (!strcmp(argv[a], "--threads")) threads = atoi(v), a++;
        else if (!strcmp(argv[a], "--mode")) cold = !strcmp(v, "cold"), a++;
        else if (!strcmp(argv[a], "--shapes")) shapes = v, a++;
        else if (!strcmp(argv[a], "--rows")) rows = v, a++;
        else if (!strcmp(argv[a], "--repeats")) repeats = atoi(v), a++;
        else if (!strcmp(argv[a], "--batch-ms")) batch_ms = atof(v), a++;
        else if (!strcmp(argv[a], "--isa")) isa = v, a++;  // native, avx512bw (1 thread), avx2
        else if (!strcmp(argv[a], "--check")) check = 1;
        else if (!strcmp(argv[a], "--dist")) normal = !strcmp(v, "normal"), a++;
        else { fprintf(stderr, "unknown argument %s\n", argv[a]); return 2; }
    }
    // The caps: oneDNN's dnnl_set_max_cpu_isa (before its first call), ours NMT_ISA (run.sh sets
    // it: process-wide, pool threads included) or, for AVX-512BW without VNNI, this thread's limit.
    if (!strcmp(isa, "avx2")) {
        if (dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2) != dnnl_success) fprintf(stderr, "dnnl_set_max_cpu_isa failed\n");
        nmt_limit_instruction_set(NMT_AVX2);
    } else if (!strcmp(isa, "avx512bw")) {
        if (threads != 1) { fprintf(stderr, "--isa avx512bw: 1 thread only\n"); return 2; }
        if (dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx512_core) != dnnl_success) fprintf(stderr, "dnnl_set_max_cpu_isa failed\n");
        nmt_limit_i8_kernel(NMT_I8_AVX512BW);
    }
    omp_set_num_threads(threads);
    if (impl == OURS && threads > 1) pool = nmt_pool_create((size_t)threads);
    static const char *i8_names[] = {"portable", "avx2", "avx512bw", "vnni"};
    const char *ours_isa = is_i8 ? i8_names[nmt_i8_kernel_in_use()]
                                 : (nmt_process_instruction_set() >= NMT_AVX512 && !strcmp(isa, "native") ? "avx512" : "avx2");
    char shapes_copy[512], rows_copy[256];
    // Shapes and rows into arrays first (strtok cannot nest).
    size_t ns[32], ks[32], ms[32], shape_count = 0, row_count = 0;
    snprintf(shapes_copy, sizeof shapes_copy, "%s", shapes);
    for (char *s = strtok(shapes_copy, ","); s && shape_count < 32; s = strtok(NULL, ","))
        if (sscanf(s, "%zux%zu", &ns[shape_count], &ks[shape_count]) == 2) shape_count++;
    snprintf(rows_copy, sizeof rows_copy, "%s", rows);
    for (char *s = strtok(rows_copy, ","); s && row_count < 32; s = strtok(NULL, ",")) ms[row_count++] = strtoul(s, NULL, 10);

    int failures = 0;
    for (size_t si = 0; si < shape_count; si++)
        for (size_t ri = 0; ri < row_count; ri++) {
            size_t n = ns[si], k = ks[si], m = ms[ri];
            problem p = make(m, n, k);
            call(&p);
            if (impl != OURS && ri == 0 && si == 0)
                fprintf(stderr, "oneDNN %d.%d.%d, effective ISA 0x%x\n", dnnl_version()->major, dnnl_version()->minor,
                        dnnl_version()->patch, (unsigned)dnnl_get_effective_cpu_isa());
            if (check) {
                p.copy = 0;
                call(&p);
                if (!verify(&p)) {
                    fprintf(stderr, "MISMATCH %s %s %zux%zu rows %zu isa %s\n", names[impl], is_i8 ? "i8" : "f32", n, k, m, isa);
                    printf("# MISMATCH %s %s %s %d threads %zux%zu rows %zu\n", names[impl], is_i8 ? "i8" : "f32", isa, threads, n, k, m);
                    failures++;
                }
            }
            // oneDNN int8: the GEMM alone, then with CTranslate2's dequantization pass.
            int variants[2] = {impl, ONEDNN_DQ}, count = impl == ONEDNN && is_i8 ? 2 : 1;
            for (int v = 0; v < count; v++) {
                impl = variants[v];
                // Calls per batch from a trial run.
                double t0 = now();
                size_t trial = 0;
                while (now() - t0 < 0.005 || trial < 3) call(&p), trial++;
                size_t calls = (size_t)(batch_ms * 1e-3 / ((now() - t0) / trial)) + 1;
                double best = INFINITY;
                for (int rep = 0; rep < repeats; rep++) {
                    t0 = now();
                    for (size_t c = 0; c < calls; c++) call(&p);
                    double t = (now() - t0) / calls;
                    best = t < best ? t : best;
                }
                double gops = 2.0 * m * n * k / best * 1e-9;
                printf("%s\t%s\t%s\t%d\t%s\t%s\t%zux%zu\t%zu\t%.3f\t%.2f\n", names[impl], is_i8 ? "i8" : "f32", isa,
                       threads, cold ? "cold" : "hot", impl == OURS ? ours_isa : "onednn", n, k, m, best * 1e6, gops);
                fflush(stdout);
            }
            impl = variants[0];
            release(&p);
        }
    if (pool) nmt_pool_destroy(pool);
    if (check) printf("# check %s %s %s %d threads: %d mismatching products\n", names[impl], is_i8 ? "i8" : "f32", isa, threads, failures);
    return 0;
}
