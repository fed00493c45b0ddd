import ArgumentParser
import Foundation
import NMTFormat

/// Writes a model file with its matrices in another dtype: i8 (a quarter of f32's size, for
/// `translate --compute-type auto` to run int8 products without quantizing at every load), f16
/// (half), or f32.
@main
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nmt-quantize",
        abstract: "Write a model file with its weight matrices as i8, f16 or f32.",
        discussion: """
            Matrices (embeddings, every linear layer, the output projection) are written in --dtype; \\
            vectors (biases, layer norms) stay f32. i8 is symmetric int8 with one scale per row \\
            (127 / max|row|), as CTranslate2's int8 and `translate --compute-type i8` quantize.

            Example:
              nmt-quantize models/tiny.bin tiny-i8.bin --dtype i8
            """)

    @Argument(help: "Model file to read.") var input: String
    @Argument(help: "Model file to write.") var output: String
    @Option(help: "i8, f16 or f32.") var dtype: DType = .i8

    func run() throws {
        let file: ModelFile
        do {
            file = try ModelFile(path: input)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let bytes = ModelFileWriter.bytes(of: file, matrices: dtype)
        guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
            FileHandle.standardError.write(Data("error: cannot write '\(output)'\n".utf8))
            throw ExitCode(1)
        }
        print("wrote \(output): \(bytes.count) bytes, matrices \(dtype.rawValue)")
    }
}

extension DType: ExpressibleByArgument {}
