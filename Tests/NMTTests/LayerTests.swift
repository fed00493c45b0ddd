import CKernels
import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

@Suite struct LayerTests {
    /// The matrix kernel's tiles cover 4 input rows × 4 weight rows × 16-float chunks of k, with
    /// tails for every remainder: every combination of awkward sizes against a product in Double.
    @Test func linearMatchesANaiveProductOnAwkwardShapes() {
        var seed: UInt64 = 7
        func random() -> Float {  // deterministic, in [-1, 1)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
        }
        for inputSize in [1, 15, 16, 17, 63, 64, 65, 100, 259] {
            for outputSize in [1, 3, 4, 5, 71, 130] {
                let weight = (0..<(outputSize * inputSize)).map { _ in random() }
                let bias = (0..<outputSize).map { _ in random() }
                for rows in [1, 2, 3, 4, 5, 7, 9, 17] {
                    let x = (0..<(rows * inputSize)).map { _ in random() }
                    var y = [Float](repeating: .nan, count: rows * outputSize)
                    weight.withUnsafeBufferPointer { w in
                        bias.withUnsafeBufferPointer { b in
                            let linear = Linear(weight: w.baseAddress!, bias: b.baseAddress!, outputSize: outputSize,
                                                inputSize: inputSize)
                            linear(x, rows: rows, into: &y, on: testPool)
                        }
                    }
                    var worst = 0.0
                    for r in 0..<rows {
                        for o in 0..<outputSize {
                            var expected = Double(bias[o])
                            for i in 0..<inputSize { expected += Double(x[r * inputSize + i]) * Double(weight[o * inputSize + i]) }
                            worst = max(worst, abs(Double(y[r * outputSize + o]) - expected))
                        }
                    }
                    #expect(worst < 1e-4, "rows \(rows), out \(outputSize), in \(inputSize): \(worst)")
                }
            }
        }
    }

    /// A region's products split over threads (each claiming blocks of columns, some ranges
    /// covering none of a product's columns) give the same bits as on one thread: three products
    /// sharing an input, one with an activation, one with block statistics, from panels and from
    /// the stored layout, over more rows than one band (256 KB of inputs).
    @Test func productsSplitOverThreadsMatchOneThread() {
        var seed: UInt64 = 11
        func random() -> Float {  // deterministic, in [-1, 1)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
        }
        let rows = 300, k = 256, sizes = [96, 1000, 777]
        let x = (0..<(rows * k)).map { _ in random() }
        let weights = sizes.map { n in UnsafeMutableBufferPointer<Float>.allocate(capacity: n * k) }
        let panels = sizes.map { n in UnsafeMutableBufferPointer<Float>.allocate(capacity: nmt_panel_floats(n, k)) }
        defer { (weights + panels).forEach { $0.deallocate() } }
        for (n, (w, p)) in zip(sizes, zip(weights, panels)) {
            for i in w.indices { w[i] = random() }
            nmt_pack_panels(w.baseAddress!, n, k, p.baseAddress!)
        }
        func run(threads: Int, panelled: Bool) -> [[Float]] {
            let pool = ThreadPool(threads: threads)
            let linears = (0..<3).map { i in
                Linear(weight: .f32(UnsafePointer(weights[i].baseAddress!),
                                    panels: panelled && nmt_panels_preferred() != 0 ? UnsafePointer(panels[i].baseAddress!) : nil),
                       bias: nil, outputSize: sizes[i], inputSize: k)
            }
            var y0 = [Float](repeating: .nan, count: rows * sizes[0]), y1 = [Float](repeating: .nan, count: rows * sizes[1])
            var y2 = [Float](repeating: .nan, count: rows * sizes[2]), swished = y1, logits = y2
            var maxima = [Float](repeating: .nan, count: rows * ((sizes[2] + 15) / 16)), sums = maxima
            Linear.apply(linears[0], linears[1], linears[2], to: x, rows: rows, into: &y0, &y1, &y2, on: pool)
            linears[1](x, rows: rows, into: &swished, activation: .swish, on: pool)
            linears[2](x, rows: rows, into: &logits, blockMax: &maxima, blockSum: &sums, on: pool)
            return [y0, y1, y2, swished, logits, maxima, sums]
        }
        for panelled in [true, false] {
            let alone = run(threads: 1, panelled: panelled), split = run(threads: 3, panelled: panelled)
            for (a, b) in zip(alone, split) {
                #expect(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }, "panels \(panelled)")
            }
        }
    }

    /// An activation fused into a product (each thread applies it to the blocks it computed) gives
    /// the same bits as applying it to the whole output afterwards.
    @Test func activationInsideTheProductMatchesActivationAfterIt() {
        var seed: UInt64 = 5
        func random() -> Float {  // deterministic, in [-2, 2)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 22)
        }
        for activation in [ModelConfig.Activation.relu, .swish, .gelu] {
            for (outputSize, rows) in [(5, 1), (33, 3), (1030, 2)] {
                let inputSize = 40
                let weight = (0..<(outputSize * inputSize)).map { _ in random() }
                let bias = (0..<outputSize).map { _ in random() }
                let x = (0..<(rows * inputSize)).map { _ in random() }
                var fused = [Float](repeating: .nan, count: rows * outputSize), after = fused
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        let linear = Linear(weight: w.baseAddress!, bias: b.baseAddress!, outputSize: outputSize,
                                            inputSize: inputSize)
                        linear(x, rows: rows, into: &fused, activation: activation, on: testPool)
                        linear(x, rows: rows, into: &after, on: testPool)
                    }
                }
                nmt_activate(activation.kernel, &after, rows * outputSize)
                #expect(fused == after, "\(activation), out \(outputSize), rows \(rows)")
                #expect(Set(fused).count > outputSize / 2, "the activation left few distinct values")
            }
        }
    }

    /// The output projection's log-softmax normalizers come from statistics of 16-logit blocks
    /// gathered inside the product: against log Σ exp in Double, for sizes around the block edges.
    @Test func blockStatisticsGiveTheLogSumExpOfEachRow() {
        var seed: UInt64 = 11
        func random() -> Float {  // deterministic, in [-8, 8)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 20)
        }
        func logSumExp(_ x: ArraySlice<Float>) -> Double {
            let m = Double(x.max()!)
            return m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
        }
        for outputSize in [1, 5, 15, 16, 17, 33, 130, 8001] {
            let inputSize = 24, rows = 3, blocks = (outputSize + 15) / 16
            let weight = (0..<(outputSize * inputSize)).map { _ in random() / 8 }
            let x = (0..<(rows * inputSize)).map { _ in random() }
            var y = [Float](repeating: .nan, count: rows * outputSize)
            var blockMax = [Float](repeating: .nan, count: rows * blocks), blockSum = blockMax
            weight.withUnsafeBufferPointer { w in
                Linear(weight: w.baseAddress!, bias: nil, outputSize: outputSize, inputSize: inputSize)(
                    x, rows: rows, into: &y, blockMax: &blockMax, blockSum: &blockSum, on: testPool)
            }
            for r in 0..<rows {
                let combined = nmt_log_sum_exp_of_blocks(Array(blockMax[(r * blocks)...]), Array(blockSum[(r * blocks)...]), blocks)
                let expected = logSumExp(y[(r * outputSize)..<((r + 1) * outputSize)])
                #expect(abs(Double(combined) - expected) < 1e-5, "out \(outputSize), row \(r): \(combined) vs \(expected)")
            }
        }
        // Blocks of −∞ (masked values) count for nothing; all −∞ gives −∞.
        var x = [Float](repeating: -.infinity, count: 40)
        x[20] = 1
        x[39] = 2
        var maxima = [Float](repeating: 0, count: 3), sums = maxima
        nmt_block_statistics(x, 40, &maxima, &sums)
        #expect(abs(Double(nmt_log_sum_exp_of_blocks(maxima, sums, 3)) - log(exp(1.0) + exp(2.0))) < 1e-6)
        x = [Float](repeating: -.infinity, count: 20)
        nmt_block_statistics(x, 20, &maxima, &sums)
        #expect(nmt_log_sum_exp_of_blocks(maxima, sums, 2) == -.infinity)
    }

    /// Every version of the kernels (baseline, AVX2, AVX-512: the ones this CPU has) against
    /// Double, called directly on this thread: products on awkward shapes, attention over keys
    /// scattered by origins (16-key groups and 64-wide value chunks with every remainder), and
    /// block statistics around block edges.
    @Test(arguments: [NMT_BASELINE, NMT_AVX2, NMT_AVX512])
    func everyInstructionSetMatchesDouble(_ highest: nmt_instruction_set) throws {
        let name = ["baseline", "AVX2", "AVX-512"][Int(highest.rawValue)]
        guard nmt_cpu_supports(highest) != 0 else {
            print("kernels: \(name) skipped, this CPU lacks it")
            return
        }
        // A cap from NMT_ISA would make this run a lower version under the higher one's name.
        try #require(nmt_process_instruction_set() == Int32(NMT_AVX512.rawValue), "unset NMT_ISA to test every kernel")
        print("kernels: \(name) versions tested against Double")
        nmt_limit_instruction_set(highest)
        defer { nmt_limit_instruction_set(NMT_AVX512) }
        var seed: UInt64 = 13
        func random() -> Float {  // deterministic, in [-1, 1)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
        }
        for (rows, n, k) in [(1, 7, 1), (1, 33, 65), (3, 20, 17), (5, 9, 100), (6, 4, 259)] {
            let x = (0..<(rows * k)).map { _ in random() }, w = (0..<(n * k)).map { _ in random() }
            let bias = (0..<n).map { _ in random() }
            var y = [Float](repeating: .nan, count: rows * n)
            nmt_matmul_transposed(x, rows, w, n, k, bias, &y, n)
            var worst = 0.0
            for r in 0..<rows {
                for o in 0..<n {
                    let expected = (0..<k).reduce(Double(bias[o])) { $0 + Double(x[r * k + $1]) * Double(w[o * k + $1]) }
                    worst = max(worst, abs(Double(y[r * n + o]) - expected))
                }
            }
            #expect(worst < 1e-4, "\(highest): product \(rows)×\(k) · \(k)×\(n): \(worst)")
        }
        // Products from panels (AVX2 and AVX-512; the baseline declines and computes nothing):
        // rows through every tile (AVX-512: 8, 4, 2, 1 and quads; AVX2: 6 to 1 rows over a panel,
        // 3 to 1 over two), panels in pairs, alone and partly past n, a call that starts at a
        // later panel (as a thread's share does), and each row's outputs the same bits alone as
        // among others. The AVX2 and AVX-512 kernels give the same bits (both sum each output in
        // order of k in one lane), checked when this CPU has both.
        // 16 rows and more: an AVX-512 8-row tile gathers the statistics of the one before it
        // inside its own loop, 16 positions of k at a time (fewer than 16 such steps when k < 256).
        for (rows, n, k) in [(15, 33, 65), (10, 40, 33), (1, 7, 1), (3, 20, 17), (9, 48, 100), (6, 4, 259), (2, 80, 256),
                             (19, 40, 70), (24, 33, 256), (35, 64, 300)] {
            let x = (0..<(rows * k)).map { _ in random() }, w = (0..<(n * k)).map { _ in random() }
            let bias = (0..<n).map { _ in random() }
            var panels = [Float](repeating: .nan, count: nmt_panel_floats(n, k))
            nmt_pack_panels(w, n, k, &panels)
            // The AVX2 packing (8 × 8 transposes) lays out what the scalar loop does.
            let expectedPanels = (0..<nmt_panel_floats(n, k)).map { j -> Float in
                let (p, i, c) = (j / (16 * k), j / 16 % k, j % 16)
                return 16 * p + c < n ? w[(16 * p + c) * k + i] : 0
            }
            #expect(panels.map(\.bitPattern) == expectedPanels.map(\.bitPattern), "\(highest): panels of \(n) × \(k)")
            var y = [Float](repeating: .nan, count: rows * n)
            let used = nmt_matmul_panels(x, rows, panels, n, k, bias, &y, n, nil, nil, 0)
            guard highest != NMT_BASELINE else {
                #expect(used == 0 && y.allSatisfy(\.isNaN), "\(highest): panels are AVX2's and AVX-512's")
                continue
            }
            try #require(used == 1)
            if highest == NMT_AVX2, nmt_cpu_supports(NMT_AVX512) != 0 {
                var wide = [Float](repeating: .nan, count: rows * n)
                nmt_limit_instruction_set(NMT_AVX512)
                _ = nmt_matmul_panels(x, rows, panels, n, k, bias, &wide, n, nil, nil, 0)
                nmt_limit_instruction_set(NMT_AVX2)
                let differing = zip(wide, y).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "panels: \(differing) of \(rows) rows × \(n) outputs differ between AVX2 and AVX-512")
            }
            var worst = 0.0
            for r in 0..<rows {
                for o in 0..<n {
                    let expected = (0..<k).reduce(Double(bias[o])) { $0 + Double(x[r * k + $1]) * Double(w[o * k + $1]) }
                    worst = max(worst, abs(Double(y[r * n + o]) - expected))
                }
                var alone = [Float](repeating: .nan, count: n)
                _ = nmt_matmul_panels(Array(x[(r * k)..<((r + 1) * k)]), 1, panels, n, k, bias, &alone, n, nil, nil, 0)
                #expect(alone == Array(y[(r * n)..<((r + 1) * n)]), "panels: row \(r) of \(rows) alone")
            }
            #expect(worst < 1e-4, "panels: product \(rows)×\(k) · \(k)×\(n): \(worst)")
            // Block statistics gathered by the panel kernel: the same bits as a pass over y (with
            // sums, and the maxima alone), whichever tile (8, 4, 2, 1 rows, or a quad) made a row.
            let blocks = nmt_product_blocks(n)
            var expectedMax = [Float](repeating: .nan, count: rows * blocks), expectedSum = expectedMax
            for r in 0..<rows {
                y.withUnsafeBufferPointer { y in
                    nmt_block_statistics(y.baseAddress! + r * n, n, &expectedMax[r * blocks], &expectedSum[r * blocks])
                }
            }
            var fusedY = [Float](repeating: .nan, count: rows * n)
            var maxima = [Float](repeating: .nan, count: rows * blocks), sums = maxima, maximaAlone = maxima
            _ = nmt_matmul_panels(x, rows, panels, n, k, bias, &fusedY, n, &maxima, &sums, blocks)
            _ = nmt_matmul_panels(x, rows, panels, n, k, bias, &fusedY, n, &maximaAlone, nil, blocks)
            let bits = { (v: [Float]) in v.map(\.bitPattern) }
            #expect(fusedY == y && bits(maxima) == bits(expectedMax) && bits(maximaAlone) == bits(expectedMax)
                    && bits(sums) == bits(expectedSum), "panels: statistics of \(rows) rows × \(n)")
            if n > 16 {  // columns 16 ..< n from the panels after the first
                var rest = [Float](repeating: .nan, count: rows * (n - 16))
                panels.withUnsafeBufferPointer { p in
                    _ = nmt_matmul_panels(x, rows, p.baseAddress! + 16 * k, n - 16, k, Array(bias[16...]), &rest, n - 16, nil, nil, 0)
                }
                #expect((0..<rows).allSatisfy { r in rest[(r * (n - 16))..<((r + 1) * (n - 16))] == y[(r * n + 16)..<((r + 1) * n)] },
                        "panels: a call from the second panel on")
            }
        }
        // Three cache rows of up to 100 positions; position j of the history sits in row origins[j].
        let rowStride = 100 * 130
        let keys = (0..<(3 * rowStride)).map { _ in random() }, values = (0..<(3 * rowStride)).map { _ in random() }
        for dim in [1, 15, 16, 17, 64, 65, 130] {
            for count in [1, 2, 15, 16, 17, 33, 100] {
                let q = (0..<dim).map { _ in 2 * random() }
                let origins = (0..<count).map { _ in Int32((random() + 1) * 1.5) }
                var scores = [Float](repeating: .nan, count: count), out = [Float](repeating: .nan, count: dim)
                nmt_attend(q, keys, values, dim, origins, rowStride, count, dim, 0.5, &scores, &out)
                let offsets = (0..<count).map { Int(origins[$0]) * rowStride + $0 * dim }
                let logits = offsets.map { o in 0.5 * (0..<dim).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[o + $1]) } }
                let e = logits.map { exp($0 - logits.max()!) }, total = e.reduce(0, +)
                let expected = (0..<dim).map { c in Float(zip(e, offsets).reduce(0.0) { $0 + $1.0 * Double(values[$1.1 + c]) } / total) }
                #expect(maxAbsDifference(out, expected) < 1e-5, "\(highest): attention over \(count) keys of \(dim)")
            }
        }
        // Layer norm and swish over every remainder of 8 and 16 lanes.
        for n in [1, 7, 15, 16, 17, 33, 256, 300] {
            let x = (0..<n).map { _ in 4 * random() }, gamma = (0..<n).map { _ in random() }, beta = (0..<n).map { _ in random() }
            var y = [Float](repeating: .nan, count: n)
            nmt_layer_norm(x, gamma, beta, 1e-5, &y, n)
            let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
            let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
            let normed = (0..<n).map { Float((Double(x[$0]) - mean) / (variance + 1e-5).squareRoot() * Double(gamma[$0]) + Double(beta[$0])) }
            #expect(maxAbsDifference(y, normed) < 1e-5, "\(highest): layer norm of \(n)")
            var swished = x
            nmt_activate(ModelConfig.Activation.swish.kernel, &swished, n)
            let expected = x.map { Float(Double($0) / (1 + exp(-Double($0)))) }
            #expect(maxAbsDifference(swished, expected) < 1e-5, "\(highest): swish of \(n)")
        }
        for n in [1, 15, 16, 17, 255, 256, 257, 300, 8001] {
            let x = (0..<n).map { i in i % 37 == 5 ? -Float.infinity : 8 * random() }
            let blocks = (n + 15) / 16
            var maxima = [Float](repeating: .nan, count: blocks), sums = maxima
            nmt_block_statistics(x, n, &maxima, &sums)
            let m = Double(x.max()!), expected = m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
            #expect(abs(Double(nmt_log_sum_exp_of_blocks(maxima, sums, blocks)) - expected) < 1e-5,
                    "\(highest): block statistics of \(n)")
            #expect(maxima == (0..<blocks).map { x[(16 * $0)..<min(n, 16 * $0 + 16)].max()! }, "\(highest): maxima of \(n)")
            // A thread's piece of a product starts at any block: the statistics of a block must
            // not depend on it.
            if blocks > 37 {
                var pieces = [Float](repeating: .nan, count: blocks), pieceSums = pieces
                nmt_block_statistics(x, 16 * 37, &pieces, &pieceSums)
                x.withUnsafeBufferPointer { whole in
                    pieces.withUnsafeMutableBufferPointer { m in
                        pieceSums.withUnsafeMutableBufferPointer { s in
                            nmt_block_statistics(whole.baseAddress! + 16 * 37, n - 16 * 37, m.baseAddress! + 37,
                                                 s.baseAddress! + 37)
                        }
                    }
                }
                #expect(pieces == maxima && pieceSums == sums, "\(highest): statistics of \(n) in two pieces")
            }
        }
    }

    /// The AVX2 kernels give the AVX-512 ones' bits (the same operations in the same order), so a
    /// model translates to the same bytes, scores and attention weights included, on either CPU:
    /// attention over scattered keys, layer norm, swish and block statistics, over every remainder
    /// of 8 and 16 lanes (products from panels: `everyInstructionSetMatchesDouble`).
    @Test func avx2KernelsGiveTheAVX512Bits() throws {
        guard nmt_cpu_supports(NMT_AVX512) != 0 else {
            print("kernels: AVX2 against AVX-512 skipped, this CPU lacks AVX-512")
            return
        }
        try #require(nmt_process_instruction_set() == Int32(NMT_AVX512.rawValue), "unset NMT_ISA to test every kernel")
        defer { nmt_limit_instruction_set(NMT_AVX512) }
        /// body's result computed with AVX-512, then with AVX2, as bit patterns.
        func both(_ body: () -> [Float]) -> (avx512: [UInt32], avx2: [UInt32]) {
            nmt_limit_instruction_set(NMT_AVX512)
            let wide = body().map(\.bitPattern)
            nmt_limit_instruction_set(NMT_AVX2)
            return (wide, body().map(\.bitPattern))
        }
        var seed: UInt64 = 17
        func random() -> Float {  // deterministic, in [-1, 1)
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
        }
        let rowStride = 100 * 130
        let keys = (0..<(3 * rowStride)).map { _ in random() }, values = (0..<(3 * rowStride)).map { _ in random() }
        for dim in [1, 7, 15, 16, 17, 64, 65, 130] {
            for count in [1, 2, 8, 9, 15, 16, 17, 33, 100] {
                let q = (0..<dim).map { _ in 2 * random() }
                let origins = (0..<count).map { _ in Int32((random() + 1) * 1.5) }
                let r = both {
                    var scores = [Float](repeating: .nan, count: count), out = [Float](repeating: .nan, count: dim)
                    nmt_attend(q, keys, values, dim, origins, rowStride, count, dim, 0.125, &scores, &out)
                    return scores + out
                }
                #expect(r.avx512 == r.avx2, "attention over \(count) keys of \(dim)")
            }
        }
        for n in [1, 7, 8, 9, 15, 16, 17, 33, 256, 300] {
            let x = (0..<n).map { _ in 4 * random() }, gamma = (0..<n).map { _ in random() }, beta = (0..<n).map { _ in random() }
            let norm = both {
                var y = [Float](repeating: .nan, count: n)
                nmt_layer_norm(x, gamma, beta, 1e-5, &y, n)
                return y
            }
            #expect(norm.avx512 == norm.avx2, "layer norm of \(n)")
            let swish = both {
                var y = x
                nmt_activate(ModelConfig.Activation.swish.kernel, &y, n)
                return y
            }
            #expect(swish.avx512 == swish.avx2, "swish of \(n)")
        }
        for n in [1, 9, 15, 16, 17, 255, 256, 257, 300, 8001] {
            let x = (0..<n).map { i in i % 37 == 5 ? -Float.infinity : 8 * random() }
            let blocks = (n + 15) / 16
            let statistics = both {
                var maxima = [Float](repeating: .nan, count: blocks), sums = maxima
                nmt_block_statistics(x, n, &maxima, &sums)
                return maxima + sums + [nmt_log_sum_exp_of_blocks(maxima, sums, blocks)]
            }
            #expect(statistics.avx512 == statistics.avx2, "block statistics of \(n)")
        }
    }

    @Test func sinusoidalPositions() {
        let halves = PositionalEncoding(dModel: 4, layout: .halves)
        // Pair i has angle p / 10000^(2i/4): pair 0 → p, pair 1 → p / 100.
        #expect(halves.vector(at: 0) == [0, 0, 1, 1])
        #expect(maxAbsDifference(halves.vector(at: 2), [sin(2), sin(0.02), cos(2), cos(0.02)].map { Float($0) }) < 1e-7)
        let interleaved = PositionalEncoding(dModel: 4, layout: .interleaved)
        #expect(maxAbsDifference(interleaved.vector(at: 2), [sin(2), cos(2), sin(0.02), cos(0.02)].map { Float($0) }) < 1e-7)
        // Positions from the table and computed ones, in one call across its end, are the same bits.
        for layout in [ModelConfig.PositionLayout.halves, .interleaved] {
            let tabulated = PositionalEncoding(dModel: 6, layout: layout, tabulated: 3)
            let computed = PositionalEncoding(dModel: 6, layout: layout, tabulated: 0)
            var span = [Float](repeating: .nan, count: 5 * 6)
            span.withUnsafeMutableBufferPointer { tabulated.fill(from: 1, count: 5, into: $0.baseAddress!) }
            #expect(span == (1...5).flatMap { computed.vector(at: $0) })
        }
    }

    @Test func layerNorm() {
        let gamma: [Float] = [1, 2, 1, 1], beta: [Float] = [0, 0, 1, 0]
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                let norm = LayerNorm(gamma: g.baseAddress!, beta: b.baseAddress!, size: 4, epsilon: 0)
                var x: [Float] = [1, 2, 3, 4]
                norm(x, rows: 1, into: &x)
                // mean 2.5, variance 1.25
                let s = Float(1.25).squareRoot()
                #expect(maxAbsDifference(x, [-1.5 / s, 2 * -0.5 / s, 0.5 / s + 1, 1.5 / s]) < 1e-6)
            }
        }
    }

    @Test func activations() {
        var x: [Float] = [-1, 0, 2]
        nmt_activate(ModelConfig.Activation.relu.kernel, &x, 3)
        #expect(x == [0, 0, 2])
        x = [-1, 0, 2]
        nmt_activate(ModelConfig.Activation.swish.kernel, &x, 3)
        #expect(maxAbsDifference(x, [Float(-1 / (1 + exp(1.0))), 0, Float(2 / (1 + exp(-2.0)))]) < 1e-6)
        x = [-1, 0, 2]
        nmt_activate(ModelConfig.Activation.gelu.kernel, &x, 3)
        #expect(maxAbsDifference(x, [-0.15865526, 0, 1.9544997]) < 1e-6)
    }
}

/// Pools are created and destroyed with their models: a worker that starts after its pool began
/// stopping must still stop (a late start once missed the stop and hung the destroying thread).
@Suite struct ThreadPoolTests {
    @Test func poolsStopHoweverLateTheirWorkersStart() {
        let weight = [Float](repeating: 0.5, count: 64 * 64), x = [Float](repeating: 1, count: 4 * 64)
        for round in 0..<300 {
            let pool = ThreadPool(threads: 2 + round % 3)
            if round % 2 == 0 {  // some pools run a region (starting workers) just before they go
                var y = [Float](repeating: 0, count: 4 * 64)
                weight.withUnsafeBufferPointer { w in
                    Linear(weight: w.baseAddress!, bias: nil, outputSize: 64, inputSize: 64)(x, rows: 4, into: &y, on: pool)
                }
                #expect(y.allSatisfy { $0 == 32 })
            }
        }
    }
}
