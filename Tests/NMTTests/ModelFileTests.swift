import Foundation
import Testing
@testable import NMT
@testable import NMTDecoding
@testable import NMTFormat
@testable import NMTModel

/// A valid model file, and ways to damage it.
struct ModelBytes {
    var bytes: [UInt8]

    /// The fixture, with four digits less of the embedding scale (a change far below float
    /// precision) so that each damage may lengthen the header by up to four characters.
    static func fixture() throws -> ModelBytes {
        ModelBytes(bytes: try Fixtures.bytes("marian-shared.bin")).replacing("5.656854249492381", with: "5.6568542494")
    }

    var headerLength: Int { Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24 }
    var header: String { String(decoding: bytes[16..<(16 + headerLength)], as: UTF8.self) }

    /// Replaces the first occurrence of `old` in the JSON header; the header is padded with spaces
    /// to its old length so that every data offset stays valid.
    func replacing(_ old: String, with new: String) -> ModelBytes {
        var text = header
        while text.last == " " { text.removeLast() }
        guard let range = text.range(of: old) else { fatalError("'\(old)' is not in the header") }
        var replaced = Array(text.replacingCharacters(in: range, with: new).utf8)
        precondition(replaced.count <= headerLength, "the change must not lengthen the header")
        replaced += Array(repeating: UInt8(ascii: " "), count: headerLength - replaced.count)
        var copy = self
        copy.bytes.replaceSubrange(16..<(16 + headerLength), with: replaced)
        return copy
    }

    /// The value of `"key":VALUE` in the tensor or blob entry whose name is `name`.
    func field(_ key: String, of name: String) -> String {
        let entry = header.range(of: "\"name\":\"\(name)\"")!
        let tail = header[entry.upperBound...]
        let start = tail.range(of: "\"\(key)\":")!.upperBound
        return String(tail[start...].prefix { $0 != "," && $0 != "}" })
    }

    func load() throws(ModelFileError) -> ModelFile { try ModelFile(bytes: bytes) }
}

@Suite struct ModelFileTests {
    @Test func loadsTheFixture() throws {
        let file = try ModelBytes.fixture().load()
        #expect(file.config.dModel == 32)
        #expect(file.sourceVocabulary.count == 301)
        #expect(file.sourceVocabulary[0] == "</s>")
        #expect(file.tensors.count == file.weights.all.count)
    }

    static func expectError(_ bytes: ModelBytes, _ check: (ModelFileError) -> Bool,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try bytes.load()
            Issue.record("loaded a damaged file", sourceLocation: sourceLocation)
        } catch {
            #expect(check(error), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test func preambleErrors() throws {
        let good = try ModelBytes.fixture()
        Self.expectError(ModelBytes(bytes: Array(good.bytes.prefix(10)))) { $0 == .tooSmall(size: 10) }
        var bytes = good
        bytes.bytes[0] = UInt8(ascii: "X")
        Self.expectError(bytes) { $0 == .badMagic }
        bytes = good
        bytes.bytes[8] = 2
        Self.expectError(bytes) { $0 == .unsupportedVersion(found: 2, supported: 1) }
        bytes = good
        bytes.bytes[15] = 0x7F
        Self.expectError(bytes) { if case .headerOutOfBounds = $0 { true } else { false } }
    }

    @Test func headerErrors() throws {
        let good = try ModelBytes.fixture()
        Self.expectError(good.replacing("{\"config\"", with: "[\"config\"")) {
            if case .invalidHeader = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"d_model\":32,", with: "")) {
            $0 == .invalidHeader("missing field 'config.d_model'")
        }
        Self.expectError(good.replacing("\"activation\":\"swish\"", with: "\"activation\":\"tanh\"")) {
            if case .invalidHeader(let why) = $0 { why.contains("config.activation") } else { false }
        }
        Self.expectError(good.replacing("\"encoder_heads\":4", with: "\"encoder_heads\":3")) {
            if case .invalidConfig(field: "encoder_heads", _) = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"encoder_layers\":2", with: "\"encoder_layers\":0")) {
            if case .invalidConfig(field: "encoder_layers", _) = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"eos_id\":0", with: "\"eos_id\":-7")) {
            if case .invalidConfig(field: "eos_id", _) = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"offset\":", with: "\"offset\":-")) {
            if case .invalidHeader = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"name\":\"source.vocab\"", with: "\"name\":\"source.vocaX\"")) {
            $0 == .invalidHeader("blob 'source.vocab' is missing")
        }
    }

    /// source_language / target_language are optional: files without them load with nil, tiny.bin
    /// records en → de, and a value that is no language code is refused naming the field.
    @Test func languageCodes() throws {
        let good = try ModelBytes.fixture()
        #expect(try good.load().config.sourceLanguage == nil)
        #expect(try ModelFile(path: Fixtures.url("format-v1.bin").path).config.targetLanguage == nil)
        let tiny = try ModelFile(path: TinyModelTests.modelPath).config
        #expect(tiny.sourceLanguage == "en" && tiny.targetLanguage == "de")
        // The fixture's header has no room for more fields: decode its config with them added.
        func config(_ extra: [String: Any]) throws -> ModelConfig {
            let header = try JSONSerialization.jsonObject(with: Data(good.header.utf8)) as! [String: Any]
            let fields = (header["config"] as! [String: Any]).merging(extra) { $1 }
            return try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: fields))
        }
        let coded = try config(["source_language": "en"])
        #expect(coded.sourceLanguage == "en" && coded.targetLanguage == nil)
        try coded.validate()
        #expect(throws: (any Error).self) { try config(["source_language": 7]) }  // not a string
        #expect {
            try config(["target_language": "d e"]).validate()
        } throws: { error in
            if case .invalidConfig(field: "target_language", _) = error as? ModelFileError { true } else { false }
        }
        #expect(ModelConfig.isLanguageCode("pt-BR") && ModelConfig.isLanguageCode("deu"))
        #expect(!ModelConfig.isLanguageCode("e") && !ModelConfig.isLanguageCode("1a") && !ModelConfig.isLanguageCode("en_"))
    }

    @Test func tensorErrors() throws {
        let good = try ModelBytes.fixture()
        Self.expectError(good.replacing("model.shared.weight", with: "model.shared.weighX")) {
            $0 == .unexpectedTensor(name: "model.shared.weighX")
        }
        Self.expectError(good.replacing("model.encoder.layers.0.self_attn_layer_norm.bias",
                                        with: "model.encoder.layers.0.final_layer_norm.bias")) {
            $0 == .duplicateTensor(name: "model.encoder.layers.0.final_layer_norm.bias")
        }
        Self.expectError(good.replacing("\"shape\":[1,301]", with: "\"shape\":[2,301]")) {
            $0 == .tensorShape(name: "final_logits_bias", expected: [1, 301], found: [2, 301])
        }
        Self.expectError(good.replacing("\"dtype\":\"f32\"", with: "\"dtype\":\"i32\"")) {
            $0 == .unsupportedDType(name: "model.shared.weight", dtype: "i32")
        }
        let offset = good.field("offset", of: "final_logits_bias")
        Self.expectError(good.replacing("\"offset\":\(offset)", with: "\"offset\":\(Int(offset)! + 4)")) {
            $0 == .misaligned(name: "final_logits_bias", offset: UInt64(offset)! + 4)
        }
        let far = String(repeating: "9", count: offset.count)  // same length, past the end, aligned
        let aligned = Int(far)! / 64 * 64
        Self.expectError(good.replacing("\"offset\":\(offset)", with: "\"offset\":\(aligned)")) {
            if case .outOfBounds(name: "final_logits_bias", _, _, _) = $0 { true } else { false }
        }
        // A file cut short: the last tensors lie past its end.
        Self.expectError(ModelBytes(bytes: Array(good.bytes.prefix(good.bytes.count - 1000)))) {
            if case .outOfBounds = $0 { true } else { false }
        }
        // A missing tensor: renamed to a name of another config's tensor set.
        Self.expectError(good.replacing("\"name\":\"final_logits_bias\"", with: "\"name\":\"lm_head.weight\"")) {
            if case .tensorShape(name: "lm_head.weight", _, _) = $0 { true }
            else if case .unexpectedTensor(name: "lm_head.weight") = $0 { true } else { false }
        }
        Self.expectError(good.replacing("\"final_logits_bias\":true", with: "\"final_logits_bias\":false")) {
            $0 == .unexpectedTensor(name: "final_logits_bias")
        }
        Self.expectError(good.replacing("\"tied_output\":true", with: "\"tied_output\":false")) {
            $0 == .missingTensor(name: "lm_head.weight")
        }
    }

    @Test func vocabularyAndTokenizerErrors() throws {
        let good = try ModelBytes.fixture()
        // A vocabulary blob cut short by one byte, with its checksum updated: the parser catches it.
        let offset = Int(good.field("offset", of: "source.vocab"))!, length = Int(good.field("length", of: "source.vocab"))!
        let crc = good.bytes[offset..<(offset + length - 1)].withUnsafeBytes { CRC32.checksum($0) }
        let entry = "\"name\":\"source.vocab\",\"offset\":\(offset),\"length\":\(length),\"crc32\":\(good.field("crc32", of: "source.vocab"))"
        Self.expectError(good.replacing(entry, with: "\"name\":\"source.vocab\",\"offset\":\(offset),\"length\":\(length - 1),\"crc32\":\(crc)")) {
            $0 == .invalidVocabulary(name: "source.vocab", problem: "piece 300 runs past the end")
        }
        Self.expectError(good.replacing("\"source_vocab_size\":301", with: "\"source_vocab_size\":300")) {
            if case .invalidConfig = $0 { true }
            else if case .invalidVocabulary(name: "source.vocab", _) = $0 { true } else { false }
        }
        // A damaged SentencePiece model never reaches the SentencePiece library: its checksum fails.
        var bytes = good
        let spm = Int(good.field("offset", of: "source.spm"))!
        for i in spm..<(spm + 64) { bytes.bytes[i] = 0xFF }
        Self.expectError(bytes) { $0 == .checksumMismatch(name: "source.spm") }
    }

    @Test func crc32MatchesZlib() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
    }

    @Test func f16FilesMatchF32WithinHalfPrecision() throws {
        let f32 = try ModelFile(bytes: try Fixtures.bytes("marian-shared.bin"))
        let f16 = try ModelFile(bytes: try Fixtures.bytes("marian-shared-f16.bin"))
        for (name, tensor) in f32.tensors {
            let half = f16.tensors[name]!
            #expect(half.shape == tensor.shape)
            let a = UnsafeBufferPointer(start: tensor.floats!, count: tensor.count)
            let b = UnsafeBufferPointer(start: half.floats!, count: half.count)
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= abs($0) * 1e-3 + 1e-7 }, "\(name)")
        }
    }
}
