import CKernels
import Foundation
import Testing

/// The int8 kernels (quantized.c and its AVX2 and AVX-512 companions), every version this CPU has,
/// against integer arithmetic: the products' sums must be exact, so a saturating or truncating
/// instruction shows up as a wrong output, not as noise.
@Suite struct QuantizedKernelTests {
    static let versions: [(kernel: nmt_i8_kernel, name: String)] = [
        (NMT_I8_VNNI, "VNNI"), (NMT_I8_AVX512BW, "AVX-512BW"), (NMT_I8_AVX2, "AVX2"), (NMT_I8_PORTABLE, "portable"),
    ]

    /// The versions this CPU has, each announced; the others skipped visibly.
    func availableVersions() throws -> [(kernel: nmt_i8_kernel, name: String)] {
        // A cap from NMT_ISA would make this run a lower version under the higher one's name.
        try #require(nmt_process_instruction_set() == Int32(NMT_AVX512.rawValue), "unset NMT_ISA to test every kernel")
        return Self.versions.filter { version in
            if nmt_i8_cpu_supports(version.kernel) != 0 { return true }
            print("i8 kernels: \(version.name) skipped, this CPU lacks it")
            return false
        }
    }

    struct Random {
        var seed: UInt64
        mutating func next(_ range: ClosedRange<Int>) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((seed >> 33) % UInt64(range.count))
        }
    }

    /// One product by every version: each output against the formula in Double from an exact
    /// Int64 sum (1e-6 of the magnitude of its terms), and every version bit for bit like the first.
    func checkProduct(_ x: [Int8], _ w: [Int8], rows: Int, n: Int, k: Int, bias: [Float]?, random: inout Random,
                      versions: [(kernel: nmt_i8_kernel, name: String)]) {
        let xscale = (0..<rows).map { _ in Float(random.next(1...1000)) / 100 }
        let wscale = (0..<n).map { _ in Float(random.next(1...1000)) / 100 }
        var sums = [Int32](repeating: 0, count: n)
        nmt_i8_row_sums(w, n, k, &sums)
        #expect(sums == (0..<n).map { o in Int32((0..<k).reduce(0) { $0 + Int(w[o * k + $1]) }) }, "row sums, k \(k)")
        var expected = [Double](repeating: 0, count: rows * n), magnitude = expected
        x.withUnsafeBufferPointer { x in
            w.withUnsafeBufferPointer { w in
                for r in 0..<rows {
                    for o in 0..<n {
                        var s: Int64 = 0
                        for i in 0..<k { s += Int64(x[r * k + i]) * Int64(w[o * k + i]) }
                        let scaled = Double(s) / (Double(xscale[r]) * Double(wscale[o])), b = Double(bias?[o] ?? 0)
                        expected[r * n + o] = scaled + b
                        magnitude[r * n + o] = abs(scaled) + abs(b)
                    }
                }
            }
        }
        var first: [Float]? = nil
        for version in versions {
            nmt_limit_i8_kernel(version.kernel)
            // Rows ldy = n + 3 apart: the padding must stay untouched.
            let ldy = n + 3
            var y = [Float](repeating: .nan, count: rows * ldy)
            nmt_matmul_i8(x, xscale, rows, w, wscale, sums, n, k, bias, &y, ldy)
            var worst = 0.0
            for r in 0..<rows {
                for o in 0..<n {
                    let e = expected[r * n + o]
                    worst = max(worst, abs(Double(y[r * ldy + o]) - e) / max(magnitude[r * n + o], 1e-30))
                }
            }
            #expect(worst < 1e-6, "\(version.name): \(rows)×\(k) · \(k)×\(n): relative error \(worst)")
            #expect((0..<rows).allSatisfy { r in (n..<ldy).allSatisfy { y[r * ldy + $0].isNaN } },
                    "\(version.name): wrote past n")
            let outputs = (0..<rows).flatMap { r in y[(r * ldy)..<(r * ldy + n)] }
            if let first {
                #expect(outputs.map(\.bitPattern) == first.map(\.bitPattern),
                        "\(version.name): \(rows)×\(k) · \(k)×\(n) differs from \(versions[0].name)")
            } else {
                first = outputs
            }
        }
        nmt_limit_i8_kernel(NMT_I8_VNNI)
    }

    /// Rows 1...17 and 64, n 1...70 and 300, k 1...70, 255, 256, 257 and 1024 (every remainder of
    /// the tiles' 4 weight rows, 4/2/1 input rows and 64- or 32-byte steps), random values in
    /// [-127, 127]; each k meets every row count, n cycling through its list.
    @Test func productsAreExactInEveryVersion() throws {
        let versions = try availableVersions()
        defer { nmt_limit_i8_kernel(NMT_I8_VNNI) }
        for version in versions {
            nmt_limit_i8_kernel(version.kernel)
            #expect(nmt_i8_kernel_in_use() == version.kernel, "\(version.name) not chosen under its limit")
        }
        var random = Random(seed: 7)
        let rowCounts = Array(1...17) + [64], columnCounts = Array(1...70) + [300]
        var shape = 0
        for k in Array(1...70) + [255, 256, 257, 1024] {
            for rows in rowCounts {
                let n = columnCounts[shape % columnCounts.count]
                shape += 1
                let x = (0..<(rows * k)).map { _ in Int8(random.next(-127...127)) }
                let w = (0..<(n * k)).map { _ in Int8(random.next(-127...127)) }
                let bias = shape % 3 == 0 ? nil : (0..<n).map { _ in Float(random.next(-1000...1000)) / 64 }
                checkProduct(x, w, rows: rows, n: n, k: k, bias: bias, random: &random, versions: versions)
            }
        }
        print("i8 kernels: \(versions.map(\.name).joined(separator: ", ")) tested")
    }

    /// All activations and weights at ±127: the largest pair sums, where a 16-bit step would
    /// saturate (2 · 255 · 127 > 32767 after a +128 shift) and the int32 sums are largest.
    @Test func extremeValuesDoNotSaturate() throws {
        let versions = try availableVersions()
        var random = Random(seed: 11)
        for (rows, n, k) in [(1, 4, 64), (5, 9, 257), (4, 8, 1024), (17, 70, 255), (2, 6, 2048), (3, 5, 8191)] {
            for pattern in 0..<4 {
                let (xv, wv): (Int8, Int8) = [(127, 127), (127, -127), (-127, -127), (0, 0)][pattern]
                let random0 = pattern == 3
                let x = (0..<(rows * k)).map { _ in random0 ? (random.next(0...1) == 0 ? 127 : -127) : xv }
                let w = (0..<(n * k)).map { _ in random0 ? (random.next(0...1) == 0 ? 127 : -127) : wv }
                checkProduct(x, w, rows: rows, n: n, k: k, bias: nil, random: &random, versions: versions)
            }
        }
    }

    /// nmt_quantize_rows: the scale 127 / max|x| (1 for a zero row), values rounded to nearest with
    /// ties to even, the same bits in every version, on every remainder of the vector steps.
    @Test func quantizationFollowsTheFormulaInEveryVersion() throws {
        let versions = try availableVersions()
        defer { nmt_limit_i8_kernel(NMT_I8_VNNI) }
        var random = Random(seed: 5)
        for k in Array(1...70) + [255, 256, 257, 1024] {
            let rows = 3
            var x = (0..<(rows * k)).map { _ in Float(random.next(-100_000...100_000)) / 997 }
            for i in 0..<k { x[k + i] = 0 }  // an all-zero row
            // A row whose maximum is 127 has scale 1, so halves are ties: 2.5 → 2, -3.5 → -4, 0.5 → 0.
            x[2 * k] = 127
            let ties: [Float] = [2.5, -3.5, 0.5, -0.5, 126.5, -126.5]
            for (j, t) in ties.enumerated() where 1 + j < k { x[2 * k + 1 + j] = t }
            let scales = (0..<rows).map { r -> Float in
                let m = x[(r * k)..<(r * k + k)].map(abs).max()!
                return m > 0 ? 127 / m : 1
            }
            let expected = (0..<(rows * k)).map { Int8((x[$0] * scales[$0 / k]).rounded(.toNearestOrEven)) }
            for version in versions {
                nmt_limit_i8_kernel(version.kernel)
                var q = [Int8](repeating: 99, count: rows * k), s = [Float](repeating: .nan, count: rows)
                nmt_quantize_rows(x, rows, k, &q, &s)
                #expect(s.map(\.bitPattern) == scales.map(\.bitPattern), "\(version.name): scales, k \(k)")
                #expect(q == expected, "\(version.name): values, k \(k)")
            }
        }
    }
}
