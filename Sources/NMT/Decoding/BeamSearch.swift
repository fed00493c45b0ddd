import Foundation

/// Beam search with the semantics of Hugging Face `generate` (transformers' `_beam_search`), so that
/// outputs can be compared line for line:
/// - each step keeps the 2·beam best continuations of all beams; of those, the ones among the
///   first `beam` that end with `</s>` (or reach the maximum length) become finished hypotheses
///   scored logP / length^lengthPenalty, the best `beam` unfinished ones continue;
/// - a sentence stops once all `beam` finished slots are filled and the best running beam,
///   normalized by the current length, cannot beat the worst finished one (`early_stopping=False`).
public enum BeamSearch {
    /// A hypothesis under construction.
    private struct Beam {
        var tokens: [Int32]
        var logProbability: Float
    }

    private struct Sentence {
        var running: [Beam]
        var finished: [Hypothesis] = []  // sorted best first, at most `beamSize`
        var done = false
    }

    /// model: rows = sentences × beamSize, the beams of a sentence adjacent.
    /// Returns up to `nBest` hypotheses per sentence, best first.
    public static func run<M: StepModel>(_ model: inout M, beamSize: Int, nBest: Int, maxLengths: [Int],
                                         minLength: Int, lengthPenalty: Float) throws -> [[Hypothesis]] {
        let batch = maxLengths.count
        let V = model.vocabularySize
        let eos = Int(model.eosID), pad = Int(model.padID)
        let keep = 2 * beamSize
        let first = [Beam(tokens: [], logProbability: 0)]
            + [Beam](repeating: Beam(tokens: [], logProbability: -1e9), count: beamSize - 1)
        var sentences = [Sentence](repeating: Sentence(running: first), count: batch)
        var inputs = [Int32](repeating: model.startID, count: batch * beamSize)
        var sources = Array(0..<(batch * beamSize))
        var candidates: [(score: Float, beam: Int, token: Int)] = []
        candidates.reserveCapacity(keep + 1)

        for t in 0..<(maxLengths.max() ?? 0) {
            let scores = try model.next(inputs)
            for r in sources.indices { sources[r] = r }  // finished sentences keep their rows as they are
            for b in 0..<batch where !sentences[b].done {
                // The 2·beam best (beam, token) continuations by accumulated log-probability.
                candidates.removeAll(keepingCapacity: true)
                var threshold = -Float.infinity  // the worst kept score once the list is full
                for k in 0..<beamSize {
                    let row = scores.logits.baseAddress! + (b * beamSize + k) * V
                    row[pad] = -.infinity
                    if t < minLength { row[eos] = -.infinity }
                    let base = sentences[b].running[k].logProbability - scores.logNormalizers[b * beamSize + k]
                    let chunk = 64
                    var v = 0
                    while v < V {
                        let end = min(v + chunk, V)
                        // Skip whole chunks that cannot enter the list.
                        if candidates.count == keep, base + VectorMath.maximum(row + v, count: end - v) <= threshold {
                            v = end
                            continue
                        }
                        while v < end {
                            let score = base + row[v]
                            if candidates.count < keep || score > threshold {
                                // Insert keeping the list sorted; ties keep the earlier (beam, token) first.
                                var i = candidates.count
                                while i > 0, candidates[i - 1].score < score { i -= 1 }
                                candidates.insert((score, k, v), at: i)
                                if candidates.count > keep { candidates.removeLast() }
                                if candidates.count == keep { threshold = candidates[keep - 1].score }
                            }
                            v += 1
                        }
                    }
                }
                let atMaxLength = t + 1 >= maxLengths[b]
                let length = Float(t + 1)
                let normalizer = powf(length, lengthPenalty)
                var next: [Beam] = []
                var nextSources: [Int] = []
                for (rank, c) in candidates.enumerated() {
                    var tokens = sentences[b].running[c.beam].tokens
                    tokens.append(Int32(c.token))
                    if c.token == eos || atMaxLength {
                        // Only the top `beam` candidates may finish.
                        if rank < beamSize {
                            addFinished(&sentences[b].finished, Hypothesis(tokens: tokens, logProbability: c.score,
                                                                           score: c.score / normalizer), beamSize)
                        }
                    } else if next.count < beamSize {
                        next.append(Beam(tokens: tokens, logProbability: c.score))
                        nextSources.append(b * beamSize + c.beam)
                    }
                }
                // Fewer than `beam` unfinished continuations: pad with dead beams (HF scores them −1e9).
                while next.count < beamSize {
                    next.append(Beam(tokens: [], logProbability: -1e9 - 1e9))
                    nextSources.append(b * beamSize)
                }
                sentences[b].running = next
                for k in 0..<beamSize {
                    sources[b * beamSize + k] = nextSources[k]
                    inputs[b * beamSize + k] = next[k].tokens.last ?? model.eosID
                }
                if atMaxLength || canStop(sentences[b], beamSize: beamSize, normalizer: normalizer) {
                    sentences[b].done = true
                }
            }
            if !sentences.contains(where: { !$0.done }) { break }
            try model.reorder(sources)
        }
        return sentences.map { Array($0.finished.prefix(nBest)) }
    }

    /// Keeps the `beamSize` best finished hypotheses, best first; a tie keeps the earlier one.
    private static func addFinished(_ finished: inout [Hypothesis], _ hypothesis: Hypothesis, _ beamSize: Int) {
        var i = finished.count
        while i > 0, finished[i - 1].score < hypothesis.score { i -= 1 }
        guard i < beamSize else { return }
        finished.insert(hypothesis, at: i)
        if finished.count > beamSize { finished.removeLast() }
    }

    /// HF's early-stop heuristic: every finished slot is taken and the best running beam, at the
    /// current length, scores no better than the worst finished hypothesis.
    private static func canStop(_ sentence: Sentence, beamSize: Int, normalizer: Float) -> Bool {
        guard sentence.finished.count == beamSize, let worst = sentence.finished.last?.score else { return false }
        return sentence.running[0].logProbability / normalizer <= worst
    }
}
