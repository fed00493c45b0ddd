#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ModelConfig.Activation {
    /// Applies the activation in place to `count` values.
    func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { x[i] = max(x[i], 0) }
        case .swish:  // x·σ(x), PyTorch's SiLU
            VectorMath.swish(x, count: count)
        case .gelu:  // the exact erf form, PyTorch's default GELU
            for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)) }
        }
    }
}
