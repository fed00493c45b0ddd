import Foundation
import Testing
@testable import NMT
@testable import NMTFormat
@testable import NMTModel

/// int8 models: files with i8 matrices load, validate their scales, and translate; quantizing
/// when loading (`ComputeType.i8`) gives the same weights as a file written by nmt-quantize.
@Suite struct QuantizedModelTests {
    static func files() throws -> (f32: ModelFile, i8: ModelFile) {
        let f32 = try ModelFile(bytes: try Fixtures.bytes("marian-shared.bin"))
        return (f32, try ModelFile(bytes: ModelFileWriter.bytes(of: f32, matrices: .i8)))
    }

    @Test func anI8FileHoldsInt8MatricesAndFloatVectors() throws {
        let (f32, i8) = try Self.files()
        for entry in i8.weights.all {
            let tensor = i8.tensor(entry)
            if entry.dtypes.contains(.i8) {
                guard case .int8(let values, let scales) = tensor.values else {
                    Issue.record("\(entry.name) is not i8")
                    continue
                }
                // Dequantized, every weight is within half a step of the original.
                let original = f32.tensor(entry).floats!
                let columns = tensor.count / tensor.shape[0]
                for i in 0..<tensor.count {
                    let step = 1 / scales[i / columns]
                    #expect(abs(Float(values[i]) * step - original[i]) <= step / 2 * 1.0001, "\(entry.name)[\(i)]")
                }
            } else {
                #expect(tensor.floats != nil, "\(entry.name)")
            }
        }
    }

    @Test func quantizingWhenLoadingEqualsAQuantizedFile() throws {
        let (f32, i8) = try Self.files()
        let options = DecodingOptions(beamSize: 3, nBest: 3, maxLength: 12)
        let sentences = ["Two dogs play in the snow.", "A man in an orange hat starring at something."]
        let onLoad = try Translator(modelFile: f32, computeType: .i8).translate(sentences, options: options)
        let fromFile = try Translator(modelFile: i8).translate(sentences, options: options)
        #expect(onLoad.map { $0.hypotheses.map(\.ids) } == fromFile.map { $0.hypotheses.map(\.ids) })
        #expect(try Translator(modelFile: f32, computeType: .i8).model.computeType == .i8)
    }

    /// int8 products move the logits a little, not a lot: teacher-forced logits of the i8 model
    /// against the f32 model's, relative to their spread.
    @Test func int8LogitsStayCloseToFloatLogits() throws {
        let (f32, _) = try Self.files()
        let reference = try Fixtures.reference("marian-shared")
        let forcing = reference.teacher_forcing
        func logits(_ type: ComputeType) throws -> [Float] {
            let model = TransformerModel(file: f32, threads: 1, computeType: type)
            let state = try model.startDecoding(try model.encode([reference.source_ids[forcing.sentence]]),
                                                rowsPerSentence: 1, maxLength: forcing.decoder_input.count)
            return Array(try model.decode(state, tokens: forcing.decoder_input, steps: forcing.decoder_input.count).allRows())
        }
        let exact = try logits(.f32), quantized = try logits(.i8)
        let spread = exact.max()! - exact.min()!
        #expect(maxAbsDifference(exact, quantized) < 0.05 * spread)
        #expect(exact != quantized, "the i8 path was not taken")
    }

    @Test func badScalesAreRejected() throws {
        let (_, i8) = try Self.files()
        var bytes = ModelFileWriter.bytes(of: i8, matrices: .i8)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + ModelBytes(bytes: bytes).headerLength)])) as! [String: Any]
        let first = (header["tensors"] as! [[String: Any]]).first { $0["dtype"] as? String == "i8" }!
        let offset = first["scales_offset"] as! Int
        for bad: Float in [0, -1, .nan, .infinity] {
            withUnsafeBytes(of: bad.bitPattern.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
            #expect(throws: ModelFileError.invalidScale(name: first["name"] as! String, row: 0)) {
                try ModelFile(bytes: bytes)
            }
        }
    }
}
