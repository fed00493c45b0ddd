import CKernels
import Foundation
import NMTModel

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

    /// model: one row per sentence at the start. All beams of a sentence would be the same at the
    /// first step (HF scores beams 1… −1e9 there, so only beam 0's continuations count), so the
    /// first step runs one row per sentence and the search then expands each sentence to
    /// `beamSize` rows, its beams adjacent, as CTranslate2 does. Returns up to `nBest` hypotheses
    /// per sentence, best first. A sentence's rows leave the model's batch once its search is done.
    ///
    /// The running beams live in flat per-beam buffers (tokens so far, their count, accumulated
    /// log-probability), written into a spare set each step and swapped, so a step allocates
    /// nothing but the hypotheses that finish.
    public static func run<M: StepModel>(_ model: inout M, maxLengths: [Int],
                                         options: DecodingOptions) throws(DecodingError) -> [[Hypothesis]] {
        do { try options.validate() } catch { throw .options(error) }
        let beamSize = options.beamSize
        let batch = maxLengths.count
        let slots = batch * beamSize  // beam k of sentence b is slot b · beamSize + k
        let eos = Int(model.eosID), pad = Int(model.padID)
        let keep = 2 * beamSize
        let steps = maxLengths.max() ?? 0
        var sentences = [Sentence](repeating: Sentence(), count: batch)
        // Per slot: tokens [slots, steps], their count, and the accumulated log-probability.
        var tokens = [Int32](repeating: 0, count: slots * steps), nextTokens = tokens
        var lengths = [Int](repeating: 0, count: slots), nextLengths = lengths
        var logProbabilities = [Float](repeating: 0, count: slots), nextLogProbabilities = logProbabilities
        // Sentence i of `live` owns the model's rows i · width ..< (i + 1) · width, width 1 at the
        // first step and beamSize after.
        var live = Array(0..<batch), nextLive: [Int] = []
        var inputs = [Int32](repeating: model.startID, count: batch), nextInputs: [Int32] = []
        var sources: [Int] = []  // the model row each next row continues from
        var candidates: [(score: Float, beam: Int, token: Int)] = []
        candidates.reserveCapacity(keep + 1)

        for t in 0..<steps {
            let logits: Logits
            do { logits = try model.next(inputs) } catch { throw .model(error) }
            let maskEOS = t < options.minLength
            let width = t == 0 ? 1 : beamSize
            // A model that did not start with one row per sentence (or ignored a select) would
            // have its rows read as the wrong beams.
            guard logits.positions == live.count * width else {
                throw .model(.stateMismatch("the model returned \(logits.positions) rows for \(live.count) sentences × \(width) beams"))
            }
            nextLive.removeAll(keepingCapacity: true)
            nextInputs.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            for (i, b) in live.enumerated() {
                // The 2·beam best (beam, token) continuations by accumulated log-probability.
                candidates.removeAll(keepingCapacity: true)
                var threshold = -Float.infinity  // the worst kept score once the list is full
                for k in 0..<width {
                    let row = logits.row(i * width + k)
                    let base = logProbabilities[b * beamSize + k] - logits.logNormalizers[i * width + k]
                    var block = 0
                    while block < logits.blocks {
                        // Skip whole blocks that cannot enter the list: a vector scan of the block
                        // maxima passes over those clearly below it (its limit lowered by a slack
                        // far above rounding), and the exact test decides the block it stops at.
                        if candidates.count == keep {
                            let slack = (abs(threshold) + abs(base)) * 1e-6
                            block = logits.firstBlock(position: i * width + k, from: block, above: threshold - base - slack)
                            if block == logits.blocks { break }
                            if base + logits.blockMaximum(position: i * width + k, block: block) <= threshold {
                                block += 1
                                continue
                            }
                        }
                        var v = block * Logits.blockSize
                        let end = min(v + Logits.blockSize, row.count)
                        while v < end {
                            // <pad> is never generated, </s> not before minLength: scored −∞.
                            let masked = v == pad || (maskEOS && v == eos)
                            let score = masked ? -Float.infinity : base + row[v]
                            if candidates.count < keep || score > threshold {
                                // Insert keeping the list sorted; ties keep the earlier (beam, token) first.
                                var c = candidates.count
                                while c > 0, candidates[c - 1].score < score { c -= 1 }
                                candidates.insert((score, k, v), at: c)
                                if candidates.count > keep { candidates.removeLast() }
                                if candidates.count == keep { threshold = candidates[keep - 1].score }
                            }
                            v += 1
                        }
                        block += 1
                    }
                }
                let atMaxLength = t + 1 >= maxLengths[b]
                let normalizer = powf(Float(t + 1), options.lengthPenalty)
                var continuing = 0  // next beams filled so far
                for (rank, c) in candidates.enumerated() {
                    let parent = b * beamSize + c.beam
                    let history = tokens[(parent * steps)..<(parent * steps + lengths[parent])]
                    if c.token == eos || atMaxLength {
                        // Only the top `beam` candidates may finish.
                        if rank < beamSize {
                            let hypothesis = Hypothesis(tokens: Array(history) + [Int32(c.token)],
                                                        logProbability: c.score, score: c.score / normalizer,
                                                        attention: model.attention(row: i * width + c.beam))
                            addFinished(&sentences[b].finished, hypothesis, beamSize)
                        }
                    } else if continuing < beamSize {
                        let slot = b * beamSize + continuing
                        nextTokens.replaceSubrange((slot * steps)..<(slot * steps + history.count), with: history)
                        nextTokens[slot * steps + history.count] = Int32(c.token)
                        nextLengths[slot] = history.count + 1
                        nextLogProbabilities[slot] = c.score
                        sources.append(i * width + c.beam)
                        nextInputs.append(Int32(c.token))
                        continuing += 1
                    }
                }
                // Fewer than `beam` unfinished continuations: pad with dead beams (HF scores them −1e9).
                for slot in (b * beamSize + continuing)..<((b + 1) * beamSize) {
                    nextLengths[slot] = 0
                    nextLogProbabilities[slot] = -1e9 - 1e9
                    sources.append(i * width)
                    nextInputs.append(model.eosID)
                }
                if atMaxLength || canStop(sentences[b], bestRunning: nextLogProbabilities[b * beamSize],
                                          beamSize: beamSize, normalizer: normalizer) {
                    sentences[b].done = true
                    nextInputs.removeLast(beamSize)
                    sources.removeLast(beamSize)
                } else {
                    nextLive.append(b)
                }
            }
            // Slots of sentences decoded this step were all rewritten in the spare buffers; the
            // slots of finished sentences are never read again.
            swap(&tokens, &nextTokens)
            swap(&lengths, &nextLengths)
            swap(&logProbabilities, &nextLogProbabilities)
            if nextLive.isEmpty { break }
            do { try model.select(sources) } catch { throw .model(error) }
            swap(&live, &nextLive)
            swap(&inputs, &nextInputs)
        }
        return sentences.map { Array($0.finished.prefix(options.nBest)) }
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
