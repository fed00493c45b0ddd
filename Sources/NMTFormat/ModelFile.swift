import Foundation

/// A weight tensor of the model file, row-major: 32-bit floats, pointing into the memory-mapped file
/// (f32) or into a widened copy owned by the `ModelFile` (f16); or int8 values with one f32 scale
/// per row (i8), both in the mapped file. Valid while the file is.
public struct WeightTensor: @unchecked Sendable {
    public enum Values {
        case float(UnsafePointer<Float>)
        /// value = int8 / scale[row] (symmetric per-row quantization, scale = 127 / max|row|).
        case int8(UnsafePointer<Int8>, scales: UnsafePointer<Float>)
    }

    public let shape: [Int]
    public let values: Values
    public var count: Int { shape.reduce(1, *) }

    /// The float values; nil for an i8 tensor.
    public var floats: UnsafePointer<Float>? {
        if case .float(let pointer) = values { return pointer }
        return nil
    }
}

/// A validated model file (format v1, docs/FORMAT.md): config, weights, tokenizers and vocabularies.
/// Loading checks every size, offset and shape before anything reads the data, so a damaged file
/// throws a `ModelFileError` instead of trapping or reading out of bounds.
public final class ModelFile: @unchecked Sendable {
    public static let magic: [UInt8] = Array("NMTMODEL".utf8)
    public static let version: UInt32 = 1
    static let preambleSize = 16
    static let alignment: UInt64 = 64

    public let config: ModelConfig
    /// The tensors this config calls for (names, shapes, dtypes).
    public let weights: WeightTable
    public let tensors: [String: WeightTensor]
    /// Serialized SentencePiece models.
    public let sourceSentencePiece: [UInt8]
    public let targetSentencePiece: [UInt8]
    /// Model id → piece, one table per side.
    public let sourceVocabulary: [String]
    public let targetVocabulary: [String]

    private let storage: MappedFile
    private let converted: [UnsafeMutableBufferPointer<Float>]

    public convenience init(path: String) throws(ModelFileError) {
        try self.init(storage: MappedFile(path: path))
    }

    /// Loads a model file held in memory (for tests and embedding).
    public convenience init(bytes: [UInt8]) throws(ModelFileError) {
        try self.init(storage: MappedFile(copying: bytes))
    }

    private init(storage: MappedFile) throws(ModelFileError) {
        self.storage = storage
        let bytes = storage.bytes
        guard bytes.count >= Self.preambleSize else { throw .tooSmall(size: bytes.count) }
        guard Array(bytes[0..<8]) == Self.magic else { throw .badMagic }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else { throw .unsupportedVersion(found: version, supported: Self.version) }
        let headerLength = UInt64(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard headerLength <= UInt64(bytes.count - Self.preambleSize) else {
            throw .headerOutOfBounds(length: headerLength, fileSize: bytes.count)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[Self.preambleSize..<(Self.preambleSize + Int(headerLength))])
        let header: FileHeader
        do {
            header = try JSONDecoder().decode(FileHeader.self, from: Data(headerBytes))
        } catch {
            throw .invalidHeader(Self.describe(error))
        }
        try header.config.validate()
        config = header.config

        let dataStart = UInt64(Self.preambleSize) + headerLength
        var blobs: [String: UnsafeRawBufferPointer] = [:]
        for blob in header.blobs {
            guard blobs[blob.name] == nil else { throw .invalidHeader("blob '\(blob.name)' is listed twice") }
            let data = try Self.slice(bytes, name: blob.name, offset: blob.offset, length: blob.length,
                                      dataStart: dataStart)
            // The SentencePiece library trusts the models it parses; a damaged one can crash it.
            // The checksum turns any damage into an error before the bytes reach it.
            guard CRC32.checksum(data) == blob.crc32 else { throw .checksumMismatch(name: blob.name) }
            blobs[blob.name] = data
        }
        func blob(_ name: String) throws(ModelFileError) -> UnsafeRawBufferPointer {
            guard let b = blobs[name] else { throw .invalidHeader("blob '\(name)' is missing") }
            return b
        }
        sourceSentencePiece = Array(try blob("source.spm"))
        targetSentencePiece = Array(try blob("target.spm"))
        sourceVocabulary = try Self.readVocabulary(try blob("source.vocab"), name: "source.vocab",
                                                   expectedCount: config.sourceVocabSize)
        targetVocabulary = try Self.readVocabulary(try blob("target.vocab"), name: "target.vocab",
                                                   expectedCount: config.targetVocabSize)

        let weights = WeightTable(config: config)
        var expected: [String: WeightTable.Entry] = [:]
        for entry in weights.all { expected[entry.name] = entry }
        var loaded: [String: WeightTensor] = [:]
        var converted: [UnsafeMutableBufferPointer<Float>] = []
        var ok = false
        defer { if !ok { converted.forEach { $0.deallocate() } } }
        for entry in header.tensors {
            guard let spec = expected[entry.name] else { throw .unexpectedTensor(name: entry.name) }
            guard loaded[entry.name] == nil else { throw .duplicateTensor(name: entry.name) }
            guard entry.shape == spec.shape else {
                throw .tensorShape(name: entry.name, expected: spec.shape, found: entry.shape)
            }
            let count = spec.shape.reduce(1, *)  // bounded by the config's validated sizes
            guard let dtype = DType(rawValue: entry.dtype), spec.dtypes.contains(dtype) else {
                throw .unsupportedDType(name: entry.name, dtype: entry.dtype)
            }
            guard entry.offset % Self.alignment == 0 else { throw .misaligned(name: entry.name, offset: entry.offset) }
            let raw = try Self.slice(bytes, name: entry.name, offset: entry.offset,
                                     length: UInt64(count * dtype.size), dataStart: dataStart)
            switch dtype {
            case .f32:
                loaded[entry.name] = WeightTensor(shape: spec.shape, values: .float(raw.baseAddress!.assumingMemoryBound(to: Float.self)))
            case .f16:
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                converted.append(buffer)
                for i in 0..<count {
                    buffer[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                }
                loaded[entry.name] = WeightTensor(shape: spec.shape, values: .float(UnsafePointer(buffer.baseAddress!)))
            case .i8:
                // One scale per row: finite and positive, or the weights would dequantize to inf/NaN.
                let rows = spec.shape[0]
                guard let scalesOffset = entry.scales_offset else {
                    throw .invalidHeader("tensor '\(entry.name)' is i8 but has no scales_offset")
                }
                guard scalesOffset % Self.alignment == 0 else { throw .misaligned(name: entry.name, offset: scalesOffset) }
                let scalesRaw = try Self.slice(bytes, name: entry.name, offset: scalesOffset, length: UInt64(rows * 4),
                                               dataStart: dataStart)
                let scales = scalesRaw.baseAddress!.assumingMemoryBound(to: Float.self)
                for r in 0..<rows where !(scales[r].isFinite && scales[r] > 0) {
                    throw .invalidScale(name: entry.name, row: r)
                }
                loaded[entry.name] = WeightTensor(
                    shape: spec.shape, values: .int8(raw.baseAddress!.assumingMemoryBound(to: Int8.self), scales: scales))
            }
        }
        for entry in weights.all where loaded[entry.name] == nil { throw .missingTensor(name: entry.name) }
        self.weights = weights
        tensors = loaded
        self.converted = converted
        ok = true
    }

    deinit { converted.forEach { $0.deallocate() } }

    /// The loaded tensor of an entry of `weights`.
    public func tensor(_ entry: WeightTable.Entry) -> WeightTensor {
        // Present by construction: the initializer rejects files that lack any entry of `weights`.
        tensors[entry.name]!
    }

    /// Lets the system drop the resident pages of a tensor read in place from the model file, once
    /// the model computes from a copy of its own (panels): they count in the process's memory
    /// otherwise. Reading the tensor later maps them again from the file (an embedding lookup in a
    /// tied matrix). No effect on converted (f16) tensors or on files built in memory.
    public func releasePages(of entry: WeightTable.Entry) {
        guard case .float(let values) = tensor(entry).values else { return }
        storage.releasePages(UnsafeRawPointer(values), count: entry.shape.reduce(1, *) * MemoryLayout<Float>.size)
    }

    private static func slice(_ bytes: UnsafeRawBufferPointer, name: String, offset: UInt64, length: UInt64,
                              dataStart: UInt64) throws(ModelFileError) -> UnsafeRawBufferPointer {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, offset >= dataStart, end <= UInt64(bytes.count) else {
            throw .outOfBounds(name: name, offset: offset, length: length, fileSize: bytes.count)
        }
        return UnsafeRawBufferPointer(rebasing: bytes[Int(offset)..<Int(end)])
    }

    /// Vocabulary blob: u32 count, then per piece a u32 byte length and the UTF-8 bytes.
    private static func readVocabulary(_ blob: UnsafeRawBufferPointer, name: String,
                                       expectedCount: Int) throws(ModelFileError) -> [String] {
        var cursor = 0
        func u32() throws(ModelFileError) -> Int {
            guard blob.count - cursor >= 4 else { throw .invalidVocabulary(name: name, problem: "truncated") }
            defer { cursor += 4 }
            return Int(blob.loadUnaligned(fromByteOffset: cursor, as: UInt32.self).littleEndian)
        }
        let count = try u32()
        guard count == expectedCount else {
            throw .invalidVocabulary(name: name, problem: "holds \(count) pieces, the config says \(expectedCount)")
        }
        var pieces: [String] = []
        pieces.reserveCapacity(count)
        for index in 0..<count {
            let length = try u32()
            guard blob.count - cursor >= length else {
                throw .invalidVocabulary(name: name, problem: "piece \(index) runs past the end")
            }
            guard let piece = String(validating: UnsafeRawBufferPointer(rebasing: blob[cursor..<(cursor + length)]),
                                     as: UTF8.self) else {
                throw .invalidVocabulary(name: name, problem: "piece \(index) is not valid UTF-8")
            }
            pieces.append(piece)
            cursor += length
        }
        return pieces
    }

    private static func describe(_ error: Error) -> String {
        // A readable path such as `blobs[0].crc32`.
        func path(_ keys: [CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return path + "[\(index)]" }
                return path.isEmpty ? key.stringValue : path + "." + key.stringValue
            }
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            let path = path(context.codingPath)
            return path.isEmpty ? "not JSON: \(context.debugDescription)" : "field '\(path)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// The JSON header: config, tensor directory and blob directory.
struct FileHeader: Decodable {
    struct Tensor: Decodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var offset: UInt64
        /// i8 tensors: where the f32 scale of each row is.
        var scales_offset: UInt64?
    }
    struct Blob: Decodable {
        var name: String
        var offset: UInt64
        var length: UInt64
        var crc32: UInt32
    }
    var config: ModelConfig
    var tensors: [Tensor]
    var blobs: [Blob]
}
