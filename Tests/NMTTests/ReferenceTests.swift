import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

/// The engine against Hugging Face MarianMTModel on the same random weights.
@Suite struct ReferenceTests {
    static let models = ["marian-shared", "marian-separate", "pre-ln"]

    @Test(arguments: models)
    func sourceIDsMatchMarianTokenizer(model: String) throws {
        let reference = try Fixtures.reference(model)
        let translator = try Fixtures.translator(model)
        for (sentence, ids) in zip(reference.sentences, reference.source_ids) {
            #expect(try translator.tokenizer.encode(sentence) == ids, "\(sentence)")
        }
    }

    @Test(arguments: models)
    func encoderOutputMatches(model: String) throws {
        let reference = try Fixtures.reference(model)
        let translator = try Fixtures.translator(model)
        for (ids, expected) in zip(reference.source_ids, reference.encoder_output) {
            let output = try translator.model.encode([ids])
            #expect(maxAbsDifference(output.states, expected) < 1e-4)
        }
    }

    @Test(arguments: models)
    func decoderLogitsMatch(model: String) throws {
        let reference = try Fixtures.reference(model)
        let translator = try Fixtures.translator(model)
        let forcing = reference.teacher_forcing
        let source = reference.source_ids[forcing.sentence]
        let steps = forcing.decoder_input.count
        let encoded = try translator.model.encode([source])

        // All steps at once (causal mask) …
        let full = try translator.model.startDecoding(encoded, rowsPerSentence: 1, maxLength: steps)
        let logits = Array(try translator.model.decode(full, tokens: forcing.decoder_input, steps: steps).allRows())
        #expect(maxAbsDifference(logits, forcing.logits) < 1e-4)

        // … and one step at a time through the key/value cache give the same logits.
        let incremental = try translator.model.startDecoding(encoded, rowsPerSentence: 1, maxLength: steps)
        var stepwise: [Float] = []
        for token in forcing.decoder_input {
            stepwise += try translator.model.decode(incremental, tokens: [token], steps: 1).allRows()
        }
        #expect(maxAbsDifference(stepwise, logits) < 1e-5)

        let logProbability = try translator.logProbability(source: source, target: forcing.target)
        #expect(abs(logProbability - forcing.log_probability) < 1e-3)
    }

    /// Beam reordering moves only the cache's origin tables: a row that takes over another row's
    /// history, then keeps decoding, must give the logits of decoding that history from scratch.
    @Test(arguments: models)
    func reorderedRowsContinueTheHistoryTheyTook(model: String) throws {
        let reference = try Fixtures.reference(model)
        let translator = try Fixtures.translator(model)
        let model = translator.model
        let encoded = try model.encode([reference.source_ids[0]])
        let start = Int32(model.config.decoderStartID)
        let histories: [[Int32]] = [[start, 5, 9, 13, 7], [start, 11, 4, 8, 21], [start, 6, 6, 30, 2]]
        let beams = try model.startDecoding(encoded, rowsPerSentence: 3, maxLength: 8)
        for t in 0..<3 { _ = try model.decode(beams, tokens: histories.map { $0[t] }, steps: 1) }
        // Row 0 takes row 2's history, row 1 row 0's, row 2 keeps its own; twice, so that
        // origins chain through rows that were themselves reordered.
        try beams.select([2, 0, 2])
        _ = try model.decode(beams, tokens: [histories[2][3], histories[0][3], histories[2][3]], steps: 1)
        try beams.select([1, 1, 0])
        let last = Array(try model.decode(beams, tokens: [histories[1][4], histories[1][4], histories[2][4]], steps: 1).allRows())
        let V = model.config.targetVocabSize
        // Rows 0 and 1 now hold history 0 followed by history 1's last token; row 2 history 2.
        let expected: [[Int32]] = [Array(histories[0][0..<4]) + [histories[1][4]],
                                   Array(histories[0][0..<4]) + [histories[1][4]],
                                   Array(histories[2][0..<4]) + [histories[2][4]]]
        for (row, tokens) in expected.enumerated() {
            let alone = try model.startDecoding(encoded, rowsPerSentence: 1, maxLength: 8)
            let logits = Array(try model.decode(alone, tokens: tokens, steps: tokens.count).allRows())
            #expect(maxAbsDifference(Array(last[row * V..<(row + 1) * V]), Array(logits.suffix(V))) < 1e-5,
                    "row \(row)")
        }
    }

    @Test(arguments: models)
    func searchesMatchGenerate(model: String) throws {
        let reference = try Fixtures.reference(model)
        let translator = try Fixtures.translator(model)
        for search in reference.searches {
            let options = DecodingOptions(beamSize: search.beam_size, nBest: search.n_best,
                                          lengthPenalty: search.length_penalty, maxLength: search.max_length,
                                          minLength: search.min_length)
            let hypotheses = try translator.generate(reference.source_ids, options: options)
            for (sentence, expected) in search.results.enumerated() {
                let got = hypotheses[sentence]
                #expect(got.map(\.tokens) == expected.map(\.tokens), "\(options) sentence \(sentence)")
                for (h, e) in zip(got, expected) {
                    if let score = e.score { #expect(abs(h.score - score) < 1e-4, "\(options) sentence \(sentence)") }
                }
            }
            let texts = try translator.translate(reference.sentences, options: options).map(\.text)
            #expect(texts == search.texts, "\(options)")
        }
    }

    /// The attention weights of the greedy and the beam-4 best hypotheses equal transformers'
    /// `output_attentions` on the same tokens: cross-attention, decoder and encoder self-attention,
    /// every layer and head. Beam search carries each hypothesis's own through the reordering.
    @Test(arguments: models)
    func attentionMatchesTransformers(model: String) throws {
        let reference = try Fixtures.reference(model)
        let expected = try Fixtures.attention(model)
        let translator = try Fixtures.translator(model)
        for searchIndex in [0, 1] {
            let search = reference.searches[searchIndex]
            let options = DecodingOptions(beamSize: search.beam_size, nBest: search.n_best,
                                          lengthPenalty: search.length_penalty, maxLength: search.max_length,
                                          minLength: search.min_length, attention: true)
            let hypotheses = try translator.generate(reference.source_ids, options: options)
            for entry in expected.entries where entry.search == searchIndex {
                let best = hypotheses[entry.sentence][0]
                #expect(best.tokens == entry.target)
                let attention = try #require(best.attention, "attention was asked for")
                let (T, S) = (entry.target.count, reference.source_ids[entry.sentence].count)
                #expect(attention.cross.rows == T && attention.cross.columns == S)
                #expect(attention.cross.layers == expected.layers && attention.cross.heads == expected.heads)
                let context = "\(model) search \(searchIndex) sentence \(entry.sentence)"
                #expect(maxAbsDifference(attention.cross.values, entry.cross) < 1e-4, "cross-attention, \(context)")
                #expect(maxAbsDifference(attention.decoderSelf.values, entry.decoder) < 1e-4, "decoder, \(context)")
                if let encoder = entry.encoder {
                    #expect(maxAbsDifference(attention.encoderSelf.values, encoder) < 1e-4, "encoder, \(context)")
                }
                // Every row is a distribution over the keys its step saw.
                for matrices in [attention.cross, attention.decoderSelf, attention.encoderSelf] {
                    for row in 0..<(matrices.layers * matrices.heads * matrices.rows) {
                        let sum = matrices.values[(row * matrices.columns)..<((row + 1) * matrices.columns)].reduce(0, +)
                        #expect(abs(sum - 1) < 1e-5)
                    }
                }
            }
            // Not asked for: not recorded.
            var plain = options
            plain.attention = false
            #expect(try translator.generate(reference.source_ids, options: plain).allSatisfy { $0.allSatisfy { $0.attention == nil } })
        }
    }
}
