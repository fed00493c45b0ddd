import Dispatch
import Foundation
import NMTDecoding
import NMTFormat
import NMTModel
import NMTText
import NMTTokenizer
import Synchronization

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
    /// Replicas of `model` that translate a call's batches side by side, each on its share of the
    /// threads (empty with one worker: batches run one after another on all of `model`'s threads).
    private let replicas: [TransformerModel]
    /// How many batches of one call are translated at the same time.
    public var workers: Int { max(1, replicas.count) }
    /// Two: on 2 cores, two one-thread workers translate a file 7% (greedy) to 17% (beam 4)
    /// faster than one worker of two threads (docs/PERFORMANCE.md); more workers mean more memory
    /// for decoding states and a longer wait for the last batch of a call.
    public static let defaultWorkers = 2

    /// threads: how many threads one call may use; nil for every core this process may use.
    /// workers: how many of a call's batches run at the same time, the threads shared among them
    /// (at most one worker per thread; nil for `defaultWorkers`). Small products split over
    /// threads spend part of their time waiting for each other, so on a file of many batches two
    /// workers of one thread each beat one worker of two; a call of a single sentence still uses
    /// every thread. computeType: `.auto` computes with the file's own types; `.i8` quantizes an
    /// f32 or f16 file when it loads (int8 products), `.f32` dequantizes an i8 file.
    public convenience init(modelPath: String, threads: Int? = nil, workers: Int? = nil,
                            computeType: ComputeType = .auto) throws(TranslatorError) {
        let file: ModelFile
        do {
            file = try ModelFile(path: modelPath)
        } catch {
            throw .modelFile(error)
        }
        try self.init(modelFile: file, threads: threads, workers: workers, computeType: computeType)
    }

    public init(modelFile: ModelFile, threads: Int? = nil, workers: Int? = nil,
                computeType: ComputeType = .auto) throws(TranslatorError) {
        let workers = workers ?? Self.defaultWorkers
        guard workers >= 1 else { throw .options(.invalidOption("workers must be at least 1, got \(workers)")) }
        do {
            _ = try InstructionSet.environmentCap()
        } catch {
            throw .model(error)
        }
        // SentencePiece builds its tries (~8 ms for tiny.bin, one thread) while the weights are
        // packed: the start of a run is on the path of every short job.
        final class Loading: @unchecked Sendable { var tokenizer: Result<Tokenizer, ModelFileError>? }
        let loading = Loading(), done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            loading.tokenizer = Result { () throws(ModelFileError) in try Tokenizer(modelFile: modelFile) }
        }
        let model = TransformerModel(file: modelFile, threads: threads, computeType: computeType)
        done.wait()
        do {
            tokenizer = try loading.tokenizer!.get()
        } catch {
            throw .modelFile(error)
        }
        self.model = model
        let count = min(workers, model.threads)
        replicas = count < 2 ? [] : (0..<count).map { i in
            model.replica(threads: model.threads / count + (i < model.threads % count ? 1 : 0))
        }
    }

    /// Frees the decoding buffers each worker keeps for its next batch (`TransformerModel.
    /// releaseKeptBuffers`). They are sized by the largest batch a worker has decoded: a batch of
    /// long segments at beam 4 grows a worker's key/value cache to hundreds of MB, which a server
    /// would otherwise hold until it stops. The next call allocates them again (at ~1.3 µs a page
    /// fault). Calls running meanwhile are not affected.
    public func releaseKeptBuffers() {
        model.releaseKeptBuffers()
        for replica in replicas { replica.releaseKeptBuffers() }
    }

    /// Translates lines: one result per line, in order. Each line is split as `split` says (by
    /// default into sentences, a sentence too long for the model cut into parts), the pieces of
    /// all lines are sorted by length and translated in batches as `batching` says, and each line's
    /// translations are joined with the line's own spacing. A line that is empty or only white
    /// space gives an empty translation. Results do not depend on the batching.
    public func translate(_ lines: [String], options: DecodingOptions = DecodingOptions(), split: SplitMode = .sentences,
                          batching: Batching = Batching()) throws(TranslatorError) -> [Translation] {
        do {
            try options.validate()
        } catch {
            throw .options(error)
        }
        guard batching.maxSentences >= 1, (batching.maxTokens ?? 1) >= 1 else {
            throw .options(.invalidOption("batches must hold at least one sentence and one token"))
        }
        // Every text segment of every line, with its source ids.
        var plans: [(text: SegmentedText, truncated: Bool, ids: [Int: [Int32]])] = []
        var units: [(line: Int, segment: Int, ids: [Int32])] = []
        for plan in try concurrentMap(lines, { line throws(TranslatorError) in try segment(line, split) }) {
            for (k, piece) in plan.text.segments.enumerated() where piece.isText {
                units.append((plans.count, k, plan.ids[k]!))
            }
            plans.append((plan.text, plan.truncated, options.attention ? plan.ids : [:]))
        }
        // Shortest first, so that a batch pads little; ties keep input order.
        let order = units.indices.sorted { (units[$0].ids.count, $0) < (units[$1].ids.count, $1) }
        var batches: [ArraySlice<Int>] = []
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, end - start < batching.maxSentences {
                // Sorted: the newcomer is the longest.
                if let budget = batching.maxTokens, units[order[end]].ids.count * (end - start + 1) > budget { break }
                end += 1
            }
            batches.append(order[start..<end])
            start = end
        }
        // What fits one batch is dealt out to the workers instead (every workers-th sentence, so
        // that each gets the same mix of lengths): two batches of one thread each finish sooner.
        if batches.count == 1, workers > 1, order.count >= workers {
            batches = (0..<workers).map { w in ArraySlice(stride(from: w, to: order.count, by: workers).map { order[$0] }) }
        } else if workers > 1, let shortest = batches.first, shortest.count >= 4 * workers {
            // The workers take batches longest first, so a worker that runs out waits for the
            // others' last batch: the shortest one, cut in quarters, keeps that wait short (a
            // beam-4 file ended on one thread for ~40 ms with the shortest batch whole).
            let quarter = (shortest.count + 3) / 4
            let pieces = stride(from: shortest.startIndex, to: shortest.endIndex, by: quarter).map {
                shortest[$0..<min($0 + quarter, shortest.endIndex)]
            }
            batches.replaceSubrange(0..<1, with: pieces)
        }
        let sources = batches.map { $0.map { units[$0].ids } }
        let results: [[[Hypothesis]]]
        do {
            results = try generate(batches: sources, options: options)
        } catch {
            throw TranslatorError(error)
        }
        var found = [[Hypothesis]](repeating: [], count: units.count)
        for (batch, hypotheses) in zip(batches, results) {
            for (u, h) in zip(batch, hypotheses) { found[u] = h }
        }
        let texts = try concurrentMap(found) { hypotheses throws(TranslatorError) in
            try hypotheses.map { h throws(TranslatorError) in try text(of: h) }
        }
        var translated = [[Int: [TranslationHypothesis]]](repeating: [:], count: lines.count)
        for (u, unit) in units.enumerated() { translated[unit.line][unit.segment] = texts[u] }
        return plans.indices.map { i in
            Self.assemble(plans[i].text, translated[i], truncated: plans[i].truncated,
                          sourcePieces: plans[i].ids.mapValues { tokenizer.sourcePieces(ids: $0) },
                          lengthPenalty: options.lengthPenalty, eosID: tokenizer.eosID)
        }
    }

    /// A line as segments to translate, with the source ids of each text segment (by segment index).
    private func segment(_ line: String, _ split: SplitMode) throws(TranslatorError)
        -> (text: SegmentedText, ids: [Int: [Int32]], truncated: Bool) {
        let maxPositions = model.config.maxPositions
        // The cutter asks whether pieces fit; the answer for the piece that is kept is reused.
        var lastEncoded: (text: Substring, ids: [Int32])?
        var failure: TokenizerError?
        func fits(_ text: Substring) -> Bool {
            do {
                let ids = try tokenizer.encode(String(text))
                lastEncoded = (text, ids)
                return ids.count <= maxPositions
            } catch {
                failure = error
                return true  // reported below
            }
        }
        let text: SegmentedText
        do {
            switch split {
            case .sentences: text = try SentenceSplitter().split(line).cuttingLongTexts(fits: fits)
            case .long: text = try LongSentenceCutter().cut(line, fits: fits)
            case .none: text = try LongSentenceCutter().cut(line, fits: { _ in true })
            }
        } catch {
            throw .segmentation(error)
        }
        if let failure { throw .tokenizer(failure) }
        var ids: [Int: [Int32]] = [:]
        var truncated = false
        for (k, piece) in text.segments.enumerated() where piece.isText {
            var pieceIDs: [Int32]
            if let last = lastEncoded, last.text == text[piece] {
                pieceIDs = last.ids
            } else {
                do { pieceIDs = try tokenizer.encode(String(text[piece])) } catch { throw .tokenizer(error) }
            }
            if pieceIDs.count > maxPositions {  // only with .none: the others cut what does not fit
                pieceIDs = Array(pieceIDs.prefix(maxPositions - 1)) + [tokenizer.eosID]
                truncated = true
            }
            ids[k] = pieceIDs
        }
        return (text, ids, truncated)
    }

    /// Joins the translations of a line's segments with the line's own spacing between them.
    private static func assemble(_ line: SegmentedText, _ translated: [Int: [TranslationHypothesis]], truncated: Bool,
                                 sourcePieces: [Int: [String]], lengthPenalty: Float, eosID: Int32) -> Translation {
        let parts = line.segments.indices.filter { line.segments[$0].isText }
        let segments = parts.map {
            TranslatedSegment(utf16Range: line.segments[$0].utf16Range, hypotheses: translated[$0]!,
                              sourcePieces: sourcePieces[$0] ?? [])
        }
        guard parts.count > 1 else {
            return Translation(hypotheses: segments.first?.hypotheses ?? [], sourceTruncated: truncated, segments: segments)
        }
        let count = segments.map(\.hypotheses.count).max()!
        let hypotheses = (0..<count).map { k -> TranslationHypothesis in
            var text = "", tokens: [String] = [], ids: [Int32] = [], logProbability: Float = 0
            for (n, index) in parts.enumerated() {
                let h = segments[n].hypotheses[min(k, segments[n].hypotheses.count - 1)]
                if n > 0 {  // the source's own spacing between the two segments
                    text += line.source[line.segments[parts[n - 1]].range.upperBound..<line.segments[index].range.lowerBound]
                }
                text += h.text
                tokens += h.tokens
                // One </s>, at the end.
                ids += n == parts.count - 1 ? h.ids : h.ids.filter { $0 != eosID }
                logProbability += h.logProbability
            }
            let score = logProbability / powf(Float(ids.count), lengthPenalty)
            return TranslationHypothesis(text: text, tokens: tokens,
                                         hypothesis: Hypothesis(tokens: ids, logProbability: logProbability, score: score))
        }
        return Translation(hypotheses: hypotheses, sourceTruncated: truncated, segments: segments)
    }

    /// As `translate(_:options:)`, on a thread of its own: the caller's thread (an actor, the main
    /// thread, a server's event loop) stays free, and concurrent calls run in parallel.
    public func translate(_ lines: [String], options: DecodingOptions = DecodingOptions(), split: SplitMode = .sentences,
                          batching: Batching = Batching()) async throws(TranslatorError) -> [Translation] {
        try await Self.offCallerThread { () throws(TranslatorError) in
            try self.translate(lines, options: options, split: split, batching: batching)
        }
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
        return try Self.generate(sources, options: options, on: model)
    }

    /// `generate` of each batch, on the workers: one batch runs on `model` with every thread;
    /// more are shared out among the replicas, the longest (last) first, so that the last one
    /// to finish is short.
    private func generate(batches: [[[Int32]]], options: DecodingOptions) throws(DecodingError) -> [[[Hypothesis]]] {
        guard replicas.count > 1, batches.count > 1 else {
            return try batches.map { batch throws(DecodingError) in try Self.generate(batch, options: options, on: model) }
        }
        struct Shared {
            var next: Int
            var results: [[[Hypothesis]]]
            var failure: DecodingError?
        }
        let shared = Mutex(Shared(next: batches.count, results: Array(repeating: [], count: batches.count)))
        DispatchQueue.concurrentPerform(iterations: replicas.count) { worker in
            while true {
                let index: Int? = shared.withLock { state in
                    guard state.failure == nil, state.next > 0 else { return nil }
                    state.next -= 1
                    return state.next
                }
                guard let index else { return }
                let result = Result { () throws(DecodingError) in
                    try Self.generate(batches[index], options: options, on: replicas[worker])
                }
                shared.withLock { state in
                    switch result {
                    case .success(let hypotheses): state.results[index] = hypotheses
                    case .failure(let error): state.failure = state.failure ?? error
                    }
                }
            }
        }
        return try shared.withLock { state throws(DecodingError) in
            if let failure = state.failure { throw failure }
            return state.results
        }
    }

    private static func generate(_ sources: [[Int32]], options: DecodingOptions,
                                 on model: TransformerModel) throws(DecodingError) -> [[Hypothesis]] {
        guard !sources.isEmpty else { return [] }
        let maxLengths = sources.map { min(options.maxLength(sourceLength: $0.count), model.config.maxPositions) }
        let beam = options.beamSize
        var stepModel: TransformerStepModel
        do {
            let encoded = try model.encode(sources, recordAttention: options.attention)
            // A beam search starts with one row per sentence and expands after the first step.
            let state = try model.startDecoding(encoded, rowsPerSentence: 1, maxRowsPerSentence: beam,
                                                maxLength: maxLengths.max()!, recordAttention: options.attention)
            stepModel = TransformerStepModel(model: model, state: state, normalizers: options.scores || beam > 1)
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

    /// `transform` of every item, in order. Lines are tokenized and translations detokenized
    /// on every thread, in contiguous shares: on one, a window of 1,000 lines kept the other core
    /// idle for ~25 ms of a 0.8 s greedy run. The first error (by item) is thrown.
    private func concurrentMap<T: Sendable, R>(_ items: [T], _ transform: @Sendable (T) throws(TranslatorError) -> R)
        throws(TranslatorError) -> [R] {
        let shares = min(model.threads, items.count / 16)  // below 16 items a thread costs more than it saves
        guard shares > 1 else { return try items.map(transform) }
        var results = [Result<R, TranslatorError>?](repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { results in
            nonisolated(unsafe) let results = results  // each share writes only its own items
            DispatchQueue.concurrentPerform(iterations: shares) { share in
                for i in (share * items.count / shares)..<((share + 1) * items.count / shares) {
                    results[i] = Result { () throws(TranslatorError) in try transform(items[i]) }
                }
            }
        }
        return try results.map { result throws(TranslatorError) in try result!.get() }
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
