/// Which keys each query of an attention may see.
enum AttentionMask {
    /// The rows are sequences packed back to back, without padding: sequence s is `lengths[s]`
    /// rows after those of the sequences before it, and sees only its own rows. The encoder's
    /// self-attention: a batch of sentences of mixed lengths costs no work for padding.
    case packed(lengths: [Int])
    /// Sequence s sees its first `lengths[s]` keys; the keys after them are padding of a batch
    /// (the cross-attention memory, laid out per sentence at the longest sentence's length).
    case padding(lengths: [Int])
    /// A query at position p sees positions 0...p: the decoder does not see the future.
    case causal
}
