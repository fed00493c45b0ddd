/// Loads a model file once and translates batches of text with it. Immutable and `Sendable`:
/// one translator serves any number of concurrent tasks, each call using its own decoding state.
///
/// ```swift
/// let translator = try Translator(modelPath: "models/tiny.bin")
/// let results = try translator.translate(["A dog runs on the beach."], options: DecodingOptions(beamSize: 4))
/// print(results[0].text)
/// ```
public final class Translator: Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer

    public convenience init(modelPath: String) throws(TranslatorError) {
        let file: ModelFile
        do {
            file = try ModelFile(path: modelPath)
        } catch {
            throw .modelFile(error)
        }
        try self.init(modelFile: file)
    }

    public init(modelFile: ModelFile) throws(TranslatorError) {
        do {
            tokenizer = try Tokenizer(modelFile: modelFile)
        } catch {
            throw .modelFile(error)
        }
        model = TransformerModel(file: modelFile)
    }

    /// Sets how many threads a translation uses (process-wide; see `Threads`).
    public static func setThreads(_ count: Int) { Threads.set(count) }

    /// Translates a batch of lines, decoded together. One result per line, in order; a line that is
    /// empty or only white space gives an empty translation.
    public func translate(_ lines: [String], options: DecodingOptions = DecodingOptions()) throws(TranslatorError) -> [Translation] {
        do {
            try options.validate()
        } catch {
            throw .options(error)
        }
        var sources: [[Int32]] = []
        var indices: [Int] = []
        var results = [Translation](repeating: Translation(hypotheses: [], sourceTruncated: false), count: lines.count)
        for (i, line) in lines.enumerated() where line.contains(where: { !$0.isWhitespace }) {
            var ids: [Int32]
            do {
                ids = try tokenizer.encode(line)
            } catch {
                throw .tokenizer(error)
            }
            if ids.count > model.config.maxPositions {
                ids = Array(ids.prefix(model.config.maxPositions - 1)) + [tokenizer.eosID]
                results[i].sourceTruncated = true
            }
            sources.append(ids)
            indices.append(i)
        }
        guard !sources.isEmpty else { return results }
        let hypotheses: [[Hypothesis]]
        do {
            hypotheses = try generate(sources, options: options)
        } catch let error as ModelError {
            throw .model(error)
        } catch {
            throw .model(.stateMismatch("\(error)"))
        }
        for (k, i) in indices.enumerated() {
            for h in hypotheses[k] {
                let content = h.tokens.last == tokenizer.eosID ? Array(h.tokens.dropLast()) : h.tokens
                let text: String
                do {
                    text = try tokenizer.decode(content)
                } catch {
                    throw .tokenizer(error)
                }
                results[i].hypotheses.append(TranslationHypothesis(
                    text: text, tokens: tokenizer.targetPieces(content), ids: h.tokens, score: h.score,
                    logProbability: h.logProbability))
            }
        }
        return results
    }

    /// Runs the search over source id sequences: the step-level entry point for any
    /// sequence-to-sequence use (ids in, ranked hypotheses out).
    public func generate(_ sources: [[Int32]], options: DecodingOptions) throws -> [[Hypothesis]] {
        try options.validate()
        let maxLengths = sources.map { min(options.maxLength(sourceLength: $0.count), model.config.maxPositions) }
        let encoded = try model.encode(sources)
        let beam = options.beamSize
        let state = try model.startDecoding(encoded, rowsPerSentence: beam, maxLength: maxLengths.max()!)
        var stepModel = TransformerStepModel(model: model, state: state)
        if beam == 1 {
            return try GreedySearch.run(&stepModel, maxLengths: maxLengths, minLength: options.minLength,
                                        lengthPenalty: options.lengthPenalty).map { [$0] }
        }
        return try BeamSearch.run(&stepModel, beamSize: beam, nBest: options.nBest, maxLengths: maxLengths,
                                  minLength: options.minLength, lengthPenalty: options.lengthPenalty)
    }

    /// Log-probability of `target` ids (ending with `</s>`) given `source` ids, by teacher forcing:
    /// the sum over positions of log p(target[t] | source, target[..<t]).
    public func logProbability(source: [Int32], target: [Int32]) throws -> Float {
        guard !target.isEmpty else { return 0 }
        let encoded = try model.encode([source])
        let state = try model.startDecoding(encoded, rowsPerSentence: 1, maxLength: target.count)
        let inputs = [Int32(model.config.decoderStartID)] + target.dropLast()
        let logits = try model.decode(state, tokens: inputs, steps: inputs.count)
        let V = model.config.targetVocabSize
        let normalizers = state.logNormalizers
        var total: Float = 0
        for (t, token) in target.enumerated() { total += logits[t * V + Int(token)] - normalizers[t] }
        return total
    }
}
