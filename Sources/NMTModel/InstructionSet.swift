import CKernels
import Foundation

/// The vector instruction sets the kernels choose from at run time, and the process-wide cap
/// that the environment variable `NMT_ISA` sets (`avx512`, `avx2` or `generic`), so that an AVX2
/// machine can be measured on an AVX-512 one (as CTranslate2's `CT2_FORCE_CPU_ISA` does).
public enum InstructionSet: String, Sendable, CaseIterable {
    case generic, avx2, avx512

    /// The cap `NMT_ISA` asks for, nil when it is unset. Throws for a value that names no
    /// instruction set or one this CPU lacks, rather than running something else than asked.
    public static func environmentCap() throws(ModelError) -> InstructionSet? {
        guard let value = ProcessInfo.processInfo.environment["NMT_ISA"], !value.isEmpty else { return nil }
        guard let set = InstructionSet(rawValue: value) else {
            throw .unsupportedInstructionSet("NMT_ISA is '\(value)', expected avx512, avx2 or generic")
        }
        guard nmt_cpu_supports(set.kernel) != 0 else {
            throw .unsupportedInstructionSet("NMT_ISA is '\(value)', but this CPU lacks it")
        }
        return set
    }

    var kernel: nmt_instruction_set {
        switch self {
        case .generic: NMT_BASELINE
        case .avx2: NMT_AVX2
        case .avx512: NMT_AVX512
        }
    }
}
