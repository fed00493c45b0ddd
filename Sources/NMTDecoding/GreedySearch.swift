import CKernels
import Foundation
import NMTModel

/// Picks the most probable token at every step, as Hugging Face `generate` does with one beam:
/// `<pad>` is never chosen, `</s>` not before `minLength` tokens; a sentence stops at `</s>`
/// or at its maximum length, and its row then leaves the model's batch.
public enum GreedySearch {
    /// model: one row per sentence. Returns one hypothesis per sentence.
    public static func run<M: StepModel>(_ model: inout M, maxLengths: [Int],
                                         options: DecodingOptions) throws(DecodingError) -> [Hypothesis] {
        do { try options.validate() } catch { throw .options(error) }
        let eos = Int(model.eosID), pad = Int(model.padID)
        var hypotheses = [Hypothesis](repeating: Hypothesis(tokens: [], logProbability: 0, score: 0),
                                      count: maxLengths.count)
        var live = Array(maxLengths.indices)  // the sentence of each of the model's rows
        var tokens = [Int32](repeating: model.startID, count: live.count)
        var t = 0
        while !live.isEmpty {
            let logits: Logits
            do { logits = try model.next(tokens) } catch { throw .model(error) }
            guard logits.positions == live.count else {
                throw .model(.stateMismatch("the model returned \(logits.positions) rows for \(live.count) sentences"))
            }
            var continuing: [Int] = []  // rows whose sentence goes on
            for (r, b) in live.enumerated() {
                let best = bestToken(logits, position: r, excluding: pad, t < options.minLength ? eos : nil)
                hypotheses[b].tokens.append(Int32(best))
                hypotheses[b].logProbability += logits.logProbability(position: r, token: best)
                if best != eos, t + 1 < maxLengths[b] {
                    continuing.append(r)
                } else {
                    hypotheses[b].attention = model.attention(row: r)
                }
            }
            t += 1
            if continuing.count < live.count, !continuing.isEmpty {
                do { try model.select(continuing) } catch { throw .model(error) }
            }
            live = continuing.map { live[$0] }
            tokens = live.map { hypotheses[$0].tokens.last! }
        }
        for b in hypotheses.indices {
            let length = Float(hypotheses[b].tokens.count)
            hypotheses[b].score = hypotheses[b].logProbability / powf(length, options.lengthPenalty)
        }
        return hypotheses
    }

    /// The first maximum (as torch.argmax picks it) among the tokens other than `a` and `b`.
    static func bestToken(_ logits: Logits, position: Int, excluding a: Int, _ b: Int?) -> Int {
        let best = logits.bestToken(position: position)
        if best != a, best != b { return best }
        // Rare: the best is a token that may not be generated here.
        let row = logits.row(position)
        var index = -1, value = -Float.infinity
        for v in row.indices where v != a && v != b && (index < 0 || row[v] > value) {
            index = v
            value = row[v]
        }
        return index
    }
}
