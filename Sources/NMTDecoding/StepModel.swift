import NMTModel

/// What a search sees of a model: one step of scores for every live decoding row, and selection
/// of rows (beams taking over other beams, finished rows leaving). Greedy and beam search depend
/// on nothing else, so they are tested with a small deterministic fake as well as with the
/// Transformer (`TransformerStepModel`).
public protocol StepModel {
    /// Size of the target vocabulary: each step scores `rows × vocabularySize` tokens.
    var vocabularySize: Int { get }
    var eosID: Int32 { get }
    var padID: Int32 { get }
    /// The first token fed to the decoder.
    var startID: Int32 { get }
    /// Feeds one token per live row and returns the scores of each row's next token, valid until
    /// the next call. The searches only read them.
    mutating func next(_ tokens: [Int32]) throws(ModelError) -> Logits
    /// The live rows become `sources.count` rows: row r continues from what row `sources[r]` was.
    /// Rows that no entry names are dropped, so later steps cost only the rows still searching.
    mutating func select(_ sources: [Int]) throws(ModelError)
    /// The attention weights of live row `row`'s steps so far, read when a hypothesis finishes
    /// (before `select`); nil when the model does not record them.
    func attention(row: Int) -> AttentionWeights?
}

extension StepModel {
    public func attention(row: Int) -> AttentionWeights? { nil }
}
