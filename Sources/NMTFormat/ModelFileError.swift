/// Why a model file could not be loaded. Every case names the problem precisely enough to act on it.
public enum ModelFileError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case tooSmall(size: Int)
    case badMagic
    case unsupportedVersion(found: UInt32, supported: UInt32)
    case headerOutOfBounds(length: UInt64, fileSize: Int)
    case invalidHeader(String)
    case invalidConfig(field: String, problem: String)
    case missingTensor(name: String)
    case unexpectedTensor(name: String)
    case duplicateTensor(name: String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case unsupportedDType(name: String, dtype: String)
    case misaligned(name: String, offset: UInt64)
    case invalidScale(name: String, row: Int)
    case outOfBounds(name: String, offset: UInt64, length: UInt64, fileSize: Int)
    case checksumMismatch(name: String)
    case invalidVocabulary(name: String, problem: String)
    case invalidTokenizer(name: String, problem: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open model file '\(path)': \(reason)"
        case .tooSmall(let size): return "not a model file: only \(size) bytes, smaller than the fixed preamble"
        case .badMagic: return "not a model file: the first 8 bytes are not the magic \"NMTMODEL\""
        case .unsupportedVersion(let found, let supported):
            return "unsupported model file version \(found) (this build reads version \(supported))"
        case .headerOutOfBounds(let length, let fileSize):
            return "damaged model file: header of \(length) bytes does not fit in the file of \(fileSize) bytes"
        case .invalidHeader(let why): return "damaged model file: header is not valid: \(why)"
        case .invalidConfig(let field, let problem): return "invalid model config: '\(field)' \(problem)"
        case .missingTensor(let name): return "model file lacks tensor '\(name)'"
        case .unexpectedTensor(let name): return "model file has unexpected tensor '\(name)'"
        case .duplicateTensor(let name): return "model file lists tensor '\(name)' twice"
        case .tensorShape(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .unsupportedDType(let name, let dtype): return "tensor '\(name)' has unsupported dtype '\(dtype)'"
        case .misaligned(let name, let offset): return "'\(name)' at offset \(offset) is not 64-byte aligned"
        case .invalidScale(let name, let row):
            return "i8 tensor '\(name)' has a scale that is not a finite positive number in row \(row)"
        case .outOfBounds(let name, let offset, let length, let fileSize):
            return "'\(name)' (offset \(offset), \(length) bytes) lies outside the file of \(fileSize) bytes"
        case .checksumMismatch(let name): return "'\(name)' is damaged: its CRC-32 does not match the header"
        case .invalidVocabulary(let name, let problem): return "vocabulary '\(name)' is damaged: \(problem)"
        case .invalidTokenizer(let name, let problem): return "tokenizer '\(name)' cannot be loaded: \(problem)"
        }
    }
}
