import NMTFormat
import CKernels

extension ModelConfig.Activation {
    /// The activation as CKernels applies it (`nmt_activate`), inside the product that feeds it.
    var kernel: nmt_activation {
        switch self {
        case .relu: NMT_RELU
        case .swish: NMT_SWISH  // x·σ(x), PyTorch's SiLU
        case .gelu: NMT_GELU    // the exact erf form, PyTorch's default GELU
        }
    }
}
