/// Misuse of the model's step-level API that a caller can trigger with its own inputs.
public enum ModelError: Error, Equatable, CustomStringConvertible, Sendable {
    case emptyBatch
    case emptySequence(index: Int)
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case sequenceTooLong(length: Int, maxPositions: Int)
    case stateMismatch(String)
    case unsupportedInstructionSet(String)

    public var description: String {
        switch self {
        case .emptyBatch: return "the batch holds no sequence"
        case .emptySequence(let index): return "sequence \(index) of the batch is empty"
        case .tokenOutOfRange(let token, let size): return "token id \(token) is outside the vocabulary of \(size)"
        case .sequenceTooLong(let length, let max):
            return "a sequence of \(length) positions exceeds the model's maximum of \(max)"
        case .stateMismatch(let why): return "decoder state misuse: \(why)"
        case .unsupportedInstructionSet(let why): return why
        }
    }
}
