import Testing
@testable import NMT

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
        let logits = Array(try translator.model.decode(full, tokens: forcing.decoder_input, steps: steps))
        #expect(maxAbsDifference(logits, forcing.logits) < 1e-4)

        // … and one step at a time through the key/value cache give the same logits.
        let incremental = try translator.model.startDecoding(encoded, rowsPerSentence: 1, maxLength: steps)
        var stepwise: [Float] = []
        for token in forcing.decoder_input {
            stepwise += try translator.model.decode(incremental, tokens: [token], steps: 1)
        }
        #expect(maxAbsDifference(stepwise, logits) < 1e-5)

        let logProbability = try translator.logProbability(source: source, target: forcing.target)
        #expect(abs(logProbability - forcing.log_probability) < 1e-3)
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
}
