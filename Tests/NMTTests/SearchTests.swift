import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

/// A deterministic stand-in for the Transformer: each row's next-token distribution is a fixed
/// pseudo-random function of its sentence and the tokens it has produced so far.
struct FakeModel: StepModel {
    let vocabularySize = 9
    let eosID: Int32 = 0
    let padID: Int32 = 8
    let startID: Int32 = 8
    var rowSeeds: [UInt64]       // the sentence of each live row
    var histories: [[Int32]]
    /// Rows fed to each `next` call: the searches drop finished rows.
    var rowsPerStep: [Int] = []
    private var buffer: [Float] = []
    private var normalizers: [Float] = []

    /// One row per sentence, as both searches start.
    init(seeds: [UInt64]) {
        rowSeeds = seeds
        histories = Array(repeating: [], count: rowSeeds.count)
    }

    static func logProbabilities(seed: UInt64, history: [Int32], vocabularySize: Int) -> [Float] {
        var h = seed &* 0x9E37_79B9_7F4A_7C15
        for t in history { h = (h ^ UInt64(bitPattern: Int64(t))) &* 0x100_0000_01B3 }
        var logits = (0..<vocabularySize).map { v -> Float in
            var x = h ^ UInt64(v) &* 0xBF58_476D_1CE4_E5B9
            x ^= x >> 31
            x = x &* 0x94D0_49BB_1331_11EB
            x ^= x >> 29
            return Float(x % 10_000) / 1000  // 0 … 10
        }
        logits[0] += 0.9 * Float(history.count) - 4  // </s> grows likelier with length
        let m = logits.max()!
        let normalizer = m + log(logits.reduce(0) { $0 + exp($1 - m) })
        return logits.map { $0 - normalizer }
    }

    /// Floats after each row of logits.
    static let rowPadding = 3

    mutating func next(_ tokens: [Int32]) throws(ModelError) -> Logits {
        guard tokens.count == histories.count else {
            throw .stateMismatch("\(tokens.count) tokens for \(histories.count) rows")
        }
        rowsPerStep.append(tokens.count)
        buffer.removeAll(keepingCapacity: true)
        normalizers.removeAll(keepingCapacity: true)
        for (r, token) in tokens.enumerated() {
            if token != startID || !histories[r].isEmpty { histories[r].append(token) }
            // Shifted logits with their normalizer, as the Transformer reports them.
            let shift = Float(r % 3) - 1
            buffer += Self.logProbabilities(seed: rowSeeds[r], history: histories[r],
                                            vocabularySize: vocabularySize).map { $0 + shift }
            // Rows padded as the Transformer pads them, here with values that would win if a
            // search read the padding as tokens.
            buffer += [Float](repeating: 50, count: Self.rowPadding)
            normalizers.append(shift)
        }
        // The buffers stay put until the next call, as the model's do.
        return buffer.withUnsafeBufferPointer { values in
            normalizers.withUnsafeBufferPointer {
                Logits(values: values, logNormalizers: $0, vocabularySize: vocabularySize,
                       rowStride: vocabularySize + Self.rowPadding)
            }
        }
    }

    mutating func select(_ sources: [Int]) throws(ModelError) {
        histories = sources.map { histories[$0] }
        rowSeeds = sources.map { rowSeeds[$0] }
    }

    /// The log-probability of a whole sequence, computed independently of any search.
    func sequenceLogProbability(seed: UInt64, tokens: [Int32]) -> Float {
        tokens.indices.reduce(0) { sum, t in
            sum + Self.logProbabilities(seed: seed, history: Array(tokens[..<t]), vocabularySize: vocabularySize)[Int(tokens[t])]
        }
    }
}

@Suite struct SearchTests {
    /// The searches find a row's best tokens from block maxima: the first maximum, as
    /// torch.argmax, whether the maxima come with the logits (the Transformer's) or are computed
    /// (a model without them), ties across blocks and a short last block included.
    @Test func bestTokenIsTheFirstMaximumWithOrWithoutBlockMaxima() {
        let vocabulary = 40  // blocks of 16, 16 and 8
        for (best, tie) in [(5, 20), (17, 33), (33, 39), (0, 16), (39, nil)] as [(Int, Int?)] {
            var values = (0..<vocabulary).map { Float(($0 * 7) % 11) }
            values[best] = 20
            if let tie { values[tie] = 20 }
            let maxima = stride(from: 0, to: vocabulary, by: Logits.blockSize).map {
                values[$0..<min($0 + Logits.blockSize, vocabulary)].max()!
            }
            values.withUnsafeBufferPointer { v in
                [Float(0)].withUnsafeBufferPointer { n in
                    maxima.withUnsafeBufferPointer { m in
                        let given = Logits(values: v, logNormalizers: n, vocabularySize: vocabulary, blockMaxima: m)
                        let computed = Logits(values: v, logNormalizers: n, vocabularySize: vocabulary)
                        #expect(given.bestToken(position: 0) == best && computed.bestToken(position: 0) == best)
                        #expect((0..<3).map { computed.blockMaximum(position: 0, block: $0) } == maxima)
                    }
                }
            }
        }
    }

    /// The block scan beam search skips with: the first block from `from` whose maximum is not
    /// ≤ the limit, a NaN counting as above, `blocks` when there is none; past the 8-wide part of
    /// the scan too (40 blocks: five groups of 8, and 37 blocks: a scalar tail).
    @Test func firstBlockIsTheFirstMaximumAboveTheLimit() {
        for blocks in [40, 37] {
            let vocabulary = blocks * Logits.blockSize - 3
            var maxima = (0..<blocks).map { Float(($0 * 5) % 7) - 10 }  // −10 ... −4
            maxima[blocks - 2] = 1
            maxima[9] = .nan
            let values = [Float](repeating: 0, count: vocabulary)
            values.withUnsafeBufferPointer { v in
                [Float(0)].withUnsafeBufferPointer { n in
                    maxima.withUnsafeBufferPointer { m in
                        let logits = Logits(values: v, logNormalizers: n, vocabularySize: vocabulary, blockMaxima: m)
                        for from in [0, 8, 9, 10, 30, blocks - 2, blocks - 1, blocks] {
                            for limit: Float in [-11, -7, -4, 0, 1, 5] {
                                let expected = (from..<blocks).first { !(maxima[$0] <= limit) } ?? blocks
                                #expect(logits.firstBlock(position: 0, from: from, above: limit) == expected)
                            }
                        }
                        let unscanned = Logits(values: v, logNormalizers: n, vocabularySize: vocabulary)
                        #expect(unscanned.firstBlock(position: 0, from: 3, above: 100) == 3)
                    }
                }
            }
        }
    }

    static let seeds: [UInt64] = Array(1...12)

    func beam(_ seeds: [UInt64], beamSize: Int, nBest: Int = 1, maxLength: Int = 12, minLength: Int = 0,
              lengthPenalty: Float = 1) throws -> [[Hypothesis]] {
        var model = FakeModel(seeds: seeds)
        return try BeamSearch.run(&model, maxLengths: Array(repeating: maxLength, count: seeds.count),
                                  options: DecodingOptions(beamSize: beamSize, nBest: nBest, lengthPenalty: lengthPenalty,
                                                           maxLength: maxLength, minLength: minLength))
    }

    func greedy(_ seeds: [UInt64], maxLength: Int = 12, minLength: Int = 0) throws -> [Hypothesis] {
        var model = FakeModel(seeds: seeds)
        return try GreedySearch.run(&model, maxLengths: Array(repeating: maxLength, count: seeds.count),
                                    options: DecodingOptions(beamSize: 1, maxLength: maxLength, minLength: minLength))
    }

    @Test(arguments: [0, 3])
    func beamOfOneIsGreedy(minLength: Int) throws {
        let g = try greedy(Self.seeds, minLength: minLength)
        let b = try beam(Self.seeds, beamSize: 1, minLength: minLength)
        #expect(b.map { $0[0].tokens } == g.map(\.tokens))
        #expect(g.contains { $0.tokens.last == 0 && $0.tokens.count < 12 }, "some sentences end early")
    }

    @Test(arguments: [1, 4])
    func nBestIsSortedAndScoresAreSequenceLogProbabilities(beamSize: Int) throws {
        for lengthPenalty: Float in [0.6, 1, 1.4] {
            let results = try beam(Self.seeds, beamSize: beamSize, nBest: beamSize, lengthPenalty: lengthPenalty)
            let model = FakeModel(seeds: Self.seeds)
            for (seed, list) in zip(Self.seeds, results) {
                #expect(list.count == beamSize)
                #expect(zip(list, list.dropFirst()).allSatisfy { $0.score >= $1.score })
                #expect(Set(list.map(\.tokens)).count == list.count, "hypotheses are distinct")
                for h in list {
                    let logP = model.sequenceLogProbability(seed: seed, tokens: h.tokens)
                    #expect(abs(h.logProbability - logP) < 1e-4)
                    #expect(abs(h.score - logP / pow(Float(h.tokens.count), lengthPenalty)) < 1e-4)
                }
            }
        }
    }

    @Test(arguments: [1, 4])
    func lengthLimitsAndPadding(beamSize: Int) throws {
        for (minLength, maxLength) in [(0, 5), (4, 9), (7, 7)] {
            let results = try beam(Self.seeds, beamSize: beamSize, nBest: beamSize, maxLength: maxLength,
                                   minLength: minLength)
            for h in results.joined() {
                #expect(h.tokens.count <= maxLength)
                #expect(!h.tokens.contains(8), "pad is never generated")
                #expect(!h.tokens.dropLast().contains(0), "</s> only at the end")
                if h.tokens.last == 0 { #expect(h.tokens.count > minLength) }
            }
        }
    }

    @Test(arguments: [1, 4])
    func aSentenceDecodesTheSameAloneAndInABatch(beamSize: Int) throws {
        let together = try beam(Self.seeds, beamSize: beamSize, nBest: beamSize)
        for (i, seed) in Self.seeds.enumerated() {
            #expect(try beam([seed], beamSize: beamSize, nBest: beamSize)[0] == together[i])
        }
    }

    /// The first step's beams would all be the same: it runs one row per sentence, then each
    /// sentence has `beamSize` rows until it is done.
    @Test func theFirstBeamStepRunsOneRowPerSentence() throws {
        var model = FakeModel(seeds: [1, 2, 3])
        _ = try BeamSearch.run(&model, maxLengths: [12, 12, 12], options: DecodingOptions(beamSize: 4, maxLength: 12))
        #expect(model.rowsPerStep.prefix(2) == [3, 12])
        #expect(model.rowsPerStep.allSatisfy { $0 == 3 || $0 % 4 == 0 })
    }

    /// A model whose rows do not match the search's (it ignored a select) is an error, not a
    /// search that reads one sentence's logits as another's beams.
    @Test func aModelThatIgnoresSelectIsRefused() throws {
        struct IgnoresSelect: StepModel {
            var inner: FakeModel
            var vocabularySize: Int { inner.vocabularySize }
            var eosID: Int32 { inner.eosID }
            var padID: Int32 { inner.padID }
            var startID: Int32 { inner.startID }
            mutating func next(_ tokens: [Int32]) throws(ModelError) -> Logits {
                let rows = inner.histories.count  // the rows it started with, whatever it is fed
                return try inner.next(Array(tokens.prefix(rows)) + Array(repeating: startID, count: max(0, rows - tokens.count)))
            }
            mutating func select(_ sources: [Int]) throws(ModelError) {}
        }
        for beamSize in [1, 4] {
            var model = IgnoresSelect(inner: FakeModel(seeds: [1, 2, 3]))
            let options = DecodingOptions(beamSize: beamSize, maxLength: 12)
            #expect {
                _ = try BeamSearch.run(&model, maxLengths: [12, 4, 12], options: options)
            } throws: { error in
                guard case DecodingError.model(.stateMismatch(let why)) = error else { return false }
                return why.contains("rows for")
            }
        }
        var greedy = IgnoresSelect(inner: FakeModel(seeds: [1, 2, 3]))
        #expect {
            _ = try GreedySearch.run(&greedy, maxLengths: [12, 1, 12], options: DecodingOptions(beamSize: 1, maxLength: 12))
        } throws: { error in
            guard case DecodingError.model(.stateMismatch(let why)) = error else { return false }
            return why.contains("rows for")
        }
    }
}
