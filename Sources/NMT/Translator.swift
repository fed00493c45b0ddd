import Dispatch
import NMTDecoding
import NMTFormat
import NMTModel
import NMTTokenizer

/// Loads a model file once and translates text with it. Immutable and `Sendable`: one translator
/// serves any number of concurrent tasks, each call using its own decoding state. It owns the
/// threads its computation runs on, so translators with different thread counts work side by side.
///
/// ```swift
/// let translator = try Translator(modelPath: "models/tiny.bin")
/// print(try translator.translate("A dog runs on the beach."))
/// let results = try await translator.translate(["Two men are talking."], options: DecodingOptions(beamSize: 4))
/// ```
public final class Translator: Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer

    /// threads: how many threads one call may use; nil for every core this process may use.
    public convenience init(modelPath: String, threads: Int? = nil) throws(TranslatorError) {
        let file: ModelFile
        do {
            file = try ModelFile(path: modelPath)
        } catch {
            throw .modelFile(error)
        }
        try self.init(modelFile: file, threads: threads)
    }

    public init(modelFile: ModelFile, threads: Int? = nil) throws(TranslatorError) {
        do {
            tokenizer = try Tokenizer(modelFile: modelFile)
        } catch {
            throw .modelFile(error)
        }
        model = TransformerModel(file: modelFile, threads: threads)
    }

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
        } catch {
            throw TranslatorError(error)
        }
        for (k, i) in indices.enumerated() {
            results[i].hypotheses = try hypotheses[k].map { h throws(TranslatorError) in try text(of: h) }
        }
        return results
    }

    /// As `translate(_:options:)`, on a thread of its own: the caller's thread (an actor, the main
    /// thread, a server's event loop) stays free, and concurrent calls run in parallel.
    public func translate(_ lines: [String], options: DecodingOptions = DecodingOptions()) async throws(TranslatorError) -> [Translation] {
        try await Self.offCallerThread { () throws(TranslatorError) in try self.translate(lines, options: options) }
    }

    /// The best translation of one text.
    public func translate(_ text: String, options: DecodingOptions = DecodingOptions()) throws(TranslatorError) -> String {
        try translate([text], options: options)[0].text
    }

    /// The best translation of one text, on a thread of its own.
    public func translate(_ text: String, options: DecodingOptions = DecodingOptions()) async throws(TranslatorError) -> String {
        try await translate([text], options: options)[0].text
    }

    /// Runs the search over source id sequences: the step-level entry point for any
    /// sequence-to-sequence use (ids in, ranked hypotheses out).
    public func generate(_ sources: [[Int32]], options: DecodingOptions) throws(DecodingError) -> [[Hypothesis]] {
        do { try options.validate() } catch { throw .options(error) }
        guard !sources.isEmpty else { return [] }
        let maxLengths = sources.map { min(options.maxLength(sourceLength: $0.count), model.config.maxPositions) }
        let beam = options.beamSize
        var stepModel: TransformerStepModel
        do {
            let encoded = try model.encode(sources)
            let state = try model.startDecoding(encoded, rowsPerSentence: beam, maxLength: maxLengths.max()!)
            stepModel = TransformerStepModel(model: model, state: state)
        } catch {
            throw .model(error)
        }
        if beam == 1 {
            return try GreedySearch.run(&stepModel, maxLengths: maxLengths, options: options).map { [$0] }
        }
        return try BeamSearch.run(&stepModel, maxLengths: maxLengths, options: options)
    }

    /// Log-probability of `target` ids (ending with `</s>`) given `source` ids, by teacher forcing:
    /// the sum over positions of log p(target[t] | source, target[..<t]).
    public func logProbability(source: [Int32], target: [Int32]) throws(ModelError) -> Float {
        guard !target.isEmpty else { return 0 }
        let encoded = try model.encode([source])
        let state = try model.startDecoding(encoded, rowsPerSentence: 1, maxLength: target.count)
        let inputs = [Int32(model.config.decoderStartID)] + target.dropLast()
        let logits = try model.decode(state, tokens: inputs, steps: inputs.count)
        var total: Float = 0
        for (t, token) in target.enumerated() { total += logits.logProbability(position: t, token: Int(token)) }
        return total
    }

    /// Log-probability of the translation `target` for `source`, both text: how likely the model
    /// finds this translation (higher is likelier), e.g. to rank or filter candidate translations.
    public func score(source: String, target: String) throws(TranslatorError) -> Float {
        let sourceIDs: [Int32], targetIDs: [Int32]
        do {
            sourceIDs = try tokenizer.encode(source)
            targetIDs = try tokenizer.encodeTarget(target)
        } catch {
            throw .tokenizer(error)
        }
        do {
            return try logProbability(source: sourceIDs, target: targetIDs)
        } catch {
            throw .model(error)
        }
    }

    private func text(of hypothesis: Hypothesis) throws(TranslatorError) -> TranslationHypothesis {
        let content = hypothesis.tokens.last == tokenizer.eosID ? Array(hypothesis.tokens.dropLast()) : hypothesis.tokens
        do {
            return TranslationHypothesis(text: try tokenizer.decode(content), tokens: tokenizer.targetPieces(content),
                                         hypothesis: hypothesis)
        } catch {
            throw .tokenizer(error)
        }
    }

    /// Runs blocking work on a dispatch thread and awaits it, so that an async caller's thread
    /// (often one of the few threads of Swift's cooperative pool) is not held for a whole batch.
    static func offCallerThread<T: Sendable>(
        _ work: @escaping @Sendable () throws(TranslatorError) -> T
    ) async throws(TranslatorError) -> T {
        let result: Result<T, TranslatorError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: Result { () throws(TranslatorError) -> T in try work() })
            }
        }
        return try result.get()
    }
}
