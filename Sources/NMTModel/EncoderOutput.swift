/// The encoder's result for a padded batch of source sequences.
public struct EncoderOutput: Sendable {
    public let batchSize: Int
    /// Padded source length (the longest sequence).
    public let paddedLength: Int
    /// Real length of each sequence; positions past it are padding and never attended to.
    public let lengths: [Int]
    /// [batch, paddedLength, dModel]
    public let states: [Float]
}
