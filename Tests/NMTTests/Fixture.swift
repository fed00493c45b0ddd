import Foundation
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

/// The threads that tests of single layers run products and attention on.
let testPool = ThreadPool(threads: 2)

/// Reference outputs recorded from Hugging Face transformers by tools/make_fixtures.py.
struct ReferenceFixture: Decodable {
    struct Result: Decodable {
        var tokens: [Int32]
        var score: Float?
    }
    struct Search: Decodable {
        var beam_size: Int
        var n_best: Int
        var length_penalty: Float
        var max_length: Int
        var min_length: Int
        var results: [[Result]]
        var texts: [String]
    }
    struct TeacherForcing: Decodable {
        var sentence: Int
        var decoder_input: [Int32]
        var target: [Int32]
        var logits: [Float]
        var log_probability: Float
    }
    var model: String
    var sentences: [String]
    var source_ids: [[Int32]]
    var encoder_output: [[Float]]
    var searches: [Search]
    var teacher_forcing: TeacherForcing
}

/// Attention weights recorded from transformers' `output_attentions` by tools/make_fixtures.py:
/// each entry is one sentence's best hypothesis of search 0 (greedy) or 1 (beam 4), its weights
/// flattened as [layers, heads, rows, columns].
struct AttentionFixture: Decodable {
    struct Entry: Decodable {
        var search: Int
        var sentence: Int
        var target: [Int32]
        var cross: [Float]
        var decoder: [Float]
        var encoder: [Float]?
    }
    var heads: Int
    var layers: Int
    var entries: [Entry]
}

enum Fixtures {
    static func attention(_ name: String) throws -> AttentionFixture {
        try JSONDecoder().decode(AttentionFixture.self, from: Data(contentsOf: url("\(name)-attention.json")))
    }

    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }

    static func reference(_ name: String) throws -> ReferenceFixture {
        try JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url("\(name).json")))
    }

    static func translator(_ name: String) throws -> Translator {
        try Translator(modelPath: url("\(name).bin").path)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name)))
    }
}

func maxAbsDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
