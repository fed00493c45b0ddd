import Foundation

/// Beam search with the semantics of Hugging Face `generate` (transformers' `_beam_search`), so that
/// outputs can be compared line for line:
/// - each step keeps the 2·beam best continuations of all beams; of those, the ones among the
///   first `beam` that end with `</s>` (or reach the maximum length) become finished hypotheses
///   scored logP / length^lengthPenalty, the best `beam` unfinished ones continue;
/// - a sentence stops once all `beam` finished slots are filled and the best running beam,
///   normalized by the current length, cannot beat the worst finished one (`early_stopping=False`).
public enum BeamSearch {
    private struct Sentence {
        var finished: [Hypothesis] = []  // sorted best first, at most `beamSize`
        var done = false
    }

    /// model: rows = sentences × beamSize, the beams of a sentence adjacent.
    /// Returns up to `nBest` hypotheses per sentence, best first.
    ///
    /// The running beams live in flat per-row buffers (tokens so far, their count, accumulated
    /// log-probability), written into a spare set each step and swapped, so a step allocates
    /// nothing but the hypotheses that finish.
    public static func run<M: StepModel>(_ model: inout M, beamSize: Int, nBest: Int, maxLengths: [Int],
                                         minLength: Int, lengthPenalty: Float) throws -> [[Hypothesis]] {
        let batch = maxLengths.count
        let rows = batch * beamSize
        let V = model.vocabularySize
        let eos = Int(model.eosID), pad = Int(model.padID)
        let keep = 2 * beamSize
        let steps = maxLengths.max() ?? 0
        var sentences = [Sentence](repeating: Sentence(), count: batch)
        // Per row: tokens [rows, steps], their count, and the accumulated log-probability. Only the
        // first beam of a sentence is alive at the start (HF gives the others −1e9).
        var tokens = [Int32](repeating: 0, count: rows * steps), nextTokens = tokens
        var lengths = [Int](repeating: 0, count: rows), nextLengths = lengths
        var logProbabilities = (0..<rows).map { $0 % beamSize == 0 ? Float(0) : -1e9 }
        var nextLogProbabilities = logProbabilities
        var inputs = [Int32](repeating: model.startID, count: rows)
        var sources = Array(0..<rows)
        var candidates: [(score: Float, beam: Int, token: Int)] = []
        candidates.reserveCapacity(keep + 1)

        for t in 0..<steps {
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
                    let base = logProbabilities[b * beamSize + k] - scores.logNormalizers[b * beamSize + k]
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
                let normalizer = powf(Float(t + 1), lengthPenalty)
                var continuing = 0  // next beams filled so far
                for (rank, c) in candidates.enumerated() {
                    let parent = b * beamSize + c.beam
                    let history = tokens[(parent * steps)..<(parent * steps + lengths[parent])]
                    if c.token == eos || atMaxLength {
                        // Only the top `beam` candidates may finish.
                        if rank < beamSize {
                            let hypothesis = Hypothesis(tokens: Array(history) + [Int32(c.token)],
                                                        logProbability: c.score, score: c.score / normalizer)
                            addFinished(&sentences[b].finished, hypothesis, beamSize)
                        }
                    } else if continuing < beamSize {
                        let row = b * beamSize + continuing
                        nextTokens.replaceSubrange((row * steps)..<(row * steps + history.count), with: history)
                        nextTokens[row * steps + history.count] = Int32(c.token)
                        nextLengths[row] = history.count + 1
                        nextLogProbabilities[row] = c.score
                        sources[row] = parent
                        inputs[row] = Int32(c.token)
                        continuing += 1
                    }
                }
                // Fewer than `beam` unfinished continuations: pad with dead beams (HF scores them −1e9).
                for row in (b * beamSize + continuing)..<((b + 1) * beamSize) {
                    nextLengths[row] = 0
                    nextLogProbabilities[row] = -1e9 - 1e9
                    sources[row] = b * beamSize
                    inputs[row] = model.eosID
                }
                if atMaxLength || canStop(sentences[b], bestRunning: nextLogProbabilities[b * beamSize],
                                          beamSize: beamSize, normalizer: normalizer) {
                    sentences[b].done = true
                }
            }
            // Rows of sentences decoded this step were all rewritten in the spare buffers; the
            // rows of finished sentences are never read again.
            swap(&tokens, &nextTokens)
            swap(&lengths, &nextLengths)
            swap(&logProbabilities, &nextLogProbabilities)
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
    private static func canStop(_ sentence: Sentence, bestRunning: Float, beamSize: Int, normalizer: Float) -> Bool {
        guard sentence.finished.count == beamSize, let worst = sentence.finished.last?.score else { return false }
        return bestRunning / normalizer <= worst
    }
}
