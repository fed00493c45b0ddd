import Foundation

/// Picks the most probable token at every step, as Hugging Face `generate` does with one beam:
/// `<pad>` is never chosen, `</s>` not before `minLength` tokens; a sentence stops at `</s>`
/// or at its maximum length.
public enum GreedySearch {
    /// model: rows = sentences. Returns one hypothesis per sentence.
    public static func run<M: StepModel>(_ model: inout M, maxLengths: [Int], minLength: Int,
                                         lengthPenalty: Float = 1) throws -> [Hypothesis] {
        let batch = maxLengths.count
        let V = model.vocabularySize
        let eos = Int(model.eosID), pad = Int(model.padID)
        var hypotheses = [Hypothesis](repeating: Hypothesis(tokens: [], logProbability: 0, score: 0), count: batch)
        var finished = [Bool](repeating: false, count: batch)
        var tokens = [Int32](repeating: model.startID, count: batch)
        for t in 0..<(maxLengths.max() ?? 0) {
            let scores = try model.next(tokens)
            for b in 0..<batch where !finished[b] {
                let row = scores.logits.baseAddress! + b * V
                row[pad] = -.infinity
                if t < minLength { row[eos] = -.infinity }
                // The first maximum wins ties, like torch.argmax.
                let best = VectorMath.argmax(row, count: V)
                let bestValue = row[best]
                hypotheses[b].tokens.append(Int32(best))
                hypotheses[b].logProbability += bestValue - scores.logNormalizers[b]
                tokens[b] = Int32(best)
                if best == eos || t + 1 >= maxLengths[b] { finished[b] = true }
            }
            if !finished.contains(false) { break }
        }
        for b in 0..<batch {
            let length = Float(hypotheses[b].tokens.count)
            hypotheses[b].score = hypotheses[b].logProbability / powf(length, lengthPenalty)
        }
        return hypotheses
    }
}
