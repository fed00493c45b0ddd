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
            let logProbs = try model.nextLogProbabilities(tokens)
            for b in 0..<batch where !finished[b] {
                let row = logProbs.baseAddress! + b * V
                var best = -1
                var bestValue = -Float.infinity
                for v in 0..<V where v != pad && (v != eos || t >= minLength) && (best < 0 || row[v] > bestValue) {
                    best = v
                    bestValue = row[v]
                }
                hypotheses[b].tokens.append(Int32(best))
                hypotheses[b].logProbability += bestValue
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
