/// Which keys each query of an attention may see.
enum AttentionMask {
    /// Sequence s sees its first `lengths[s]` keys; the keys after them are padding of a batch.
    case padding(lengths: [Int])
    /// A query at position p sees positions 0...p: the decoder does not see the future.
    case causal
}
