import CKernels

/// Scratch buffers of one layer call (projections, attention context, feed-forward hidden
/// layer), reused by every layer and every decoding step so that a step does not allocate.
final class LayerWorkspace {
    let normed = ScratchBuffer(), projected = ScratchBuffer(), hidden = ScratchBuffer()
    let q = ScratchBuffer(), k = ScratchBuffer(), v = ScratchBuffer(), context = ScratchBuffer()
    let scores = ScratchBuffer()
    /// Attention jobs of one layer, [sequences × heads], refilled without reallocating.
    var jobs: [nmt_attention_job] = []
}
