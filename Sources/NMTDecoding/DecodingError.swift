import NMTModel

/// Why a search failed: options out of range, or the model refused a step.
public enum DecodingError: Error, Equatable, CustomStringConvertible, Sendable {
    case options(DecodingOptionsError)
    case model(ModelError)

    public var description: String {
        switch self {
        case .options(let e): return e.description
        case .model(let e): return e.description
        }
    }
}
