// The engine's matrix products as parallel regions. A region computes one or more products that
// share their input (attention's query, key and value projections meet once instead of three
// times), split over the pool's threads in claimed blocks of 16 output columns
// (nmt_parallel_claims: each thread keeps its own share of the weights, step after step).
//
// All of it is C so that a product costs no allocation and no reference counting: a Swift
// closure handed to the pool would be boxed on the heap and retained by every thread that runs it.
#include "internal.h"

#include <stdlib.h>

enum { BLOCK = 16 };

struct region {
    const float *x;
    const int8_t *xq;      // x quantized per row, when a product has int8 weights
    const float *xscale;   // [rows]
    size_t rows, k;
    const nmt_product *products;
    size_t count;
};

// Columns [start, stop) of one product for input rows first ..< first + rows, then their
// activation and softmax statistics.
static void run_columns(const struct region *region, const nmt_product *product, size_t lower, size_t upper,
                        size_t first, size_t rows) {
    size_t start = lower * BLOCK, stop = upper * BLOCK < product->n ? upper * BLOCK : product->n, k = region->k;
    const float *bias = product->bias ? product->bias + start : NULL;
    size_t blocks = nmt_product_blocks(product->n);
    float *y = product->y + first * product->ldy + start;
    float *maxima = product->block_max ? product->block_max + first * blocks + lower : NULL;
    float *sums = product->block_sum ? product->block_sum + first * blocks + lower : NULL;
    // The panel kernel gathers the statistics itself, unless an activation comes first.
    int fused = product->activation == NMT_IDENTITY;
    if (product->panels && nmt_matmul_panels(region->x + first * k, rows, product->panels + start * k, stop - start,
                                             k, bias, y, product->ldy, fused ? maxima : NULL, sums, blocks)) {
        // computed from the panels (start is a multiple of 16: the panel of column start)
        if (fused) maxima = NULL;
    } else if (product->qweight)
        nmt_matmul_i8(region->xq + first * k, region->xscale + first, rows, product->qweight + start * k,
                      product->qscale + start, product->qsum + start, stop - start, k, bias, y, product->ldy);
    else
        nmt_matmul_transposed(region->x + first * k, rows, product->weight + start * k, stop - start, k, bias, y,
                              product->ldy);
    if (product->activation != NMT_IDENTITY)
        for (size_t r = 0; r < rows; r++) nmt_activate(product->activation, y + r * product->ldy, stop - start);
    if (maxima)
        for (size_t r = 0; r < rows; r++)
            nmt_block_statistics(y + r * product->ldy, stop - start, maxima + r * blocks, sums ? sums + r * blocks : NULL);
}

// A product with an activation or statistics runs Y_CHUNK_BYTES of its output at a time, so that
// those passes read the outputs from L2 rather than from L3 or memory: 256 rows of the output
// projection's 8,001 logits are 8 MB (the statistics took 7% of a beam-4 run reading them back
// whole). The panel kernel gathers the statistics tile by tile itself, yet running the output
// projection whole, without chunks, measured 3.5% slower at beam 4 still. The chunks go over a
// band of rows whose inputs fit in L2 (256 KB) before the next band: an encoder batch's ~1,000
// rows went through L3 once per chunk (its first feed-forward layer ran at 88 GMAC/s).
#ifndef Y_CHUNK_BYTES
#define Y_CHUNK_BYTES (256 * 1024)
#endif

// Blocks begin..<end, numbered across the products one after the other.
static void run_blocks(void *context, size_t begin, size_t end) {
    const struct region *region = context;
    size_t first = 0;  // the first block of product p
    for (size_t p = 0; p < region->count && first < end; p++) {
        const nmt_product *product = &region->products[p];
        size_t blocks = nmt_product_blocks(product->n);
        size_t lower = begin > first ? begin - first : 0, upper = end - first < blocks ? end - first : blocks;
        if (lower >= upper) {
            // none of this product's blocks are among begin ..< end
        } else if (product->activation == NMT_IDENTITY && !product->block_max) {
            run_columns(region, product, lower, upper, 0, region->rows);
        } else {
            size_t band = rows_in_l2(region->k);
            for (size_t r = 0; r < region->rows; r += band) {
                size_t rows = region->rows - r < band ? region->rows - r : band;
                size_t chunk = Y_CHUNK_BYTES / (rows * BLOCK * sizeof(float));
                if (chunk < 1) chunk = 1;
                for (size_t c = lower; c < upper; c += chunk)
                    run_columns(region, product, c, c + chunk < upper ? c + chunk : upper, r, rows);
            }
        }
        first += blocks;
    }
}

void nmt_products(nmt_pool *pool, const float *x, size_t rows, size_t k, const nmt_product *products, size_t count, size_t threads) {
    size_t blocks = 0;
    for (size_t p = 0; p < count; p++) blocks += nmt_product_blocks(products[p].n);
    struct region region = {x, NULL, NULL, rows, k, products, count};
    // Activations are quantized once per region, per row, for all the int8 products that read them.
    // The buffer is the calling thread's and grows as needed: no allocation per call.
    static _Thread_local int8_t *quantized;
    static _Thread_local float *scales;
    static _Thread_local size_t capacity, scale_capacity;
    int any_int8 = 0;
    for (size_t p = 0; p < count; p++) any_int8 |= products[p].qweight != NULL;
    if (any_int8) {
        if (capacity < rows * k) {
            free(quantized);
            capacity = rows * k;
            quantized = malloc(capacity);
        }
        if (scale_capacity < rows) {
            free(scales);
            scale_capacity = rows;
            scales = malloc(scale_capacity * sizeof *scales);
        }
        if (!quantized || !scales) abort();  // out of memory for a few KB: nothing sensible to do
        nmt_quantize_rows(x, rows, k, quantized, scales);
        region.xq = quantized;
        region.xscale = scales;
    }
    nmt_parallel_claims(pool, run_blocks, &region, blocks, threads);
}

size_t nmt_product_blocks(size_t n) { return (n + BLOCK - 1) / BLOCK; }
