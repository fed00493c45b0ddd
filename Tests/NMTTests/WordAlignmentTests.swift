import Testing
@testable import NMT

/// Pieces to words, as whitespace separates the decoded text.
@Suite struct WordAlignmentTests {
    @Test func piecesMapToWhitespaceWords() {
        // "Eine Frau  Himmel, ok" decoded from these pieces: a lone ▁ is a space, not a word.
        let pieces = ["▁Eine", "▁Frau", "▁", "▁Him", "mel", ",", "▁", ",", "▁ok", "</s>"]
        #expect(WordAlignment.wordIndices(pieces) == [0, 1, nil, 2, 2, 2, nil, 3, 4, nil])
        // A text that starts without the mark still starts at word 0.
        #expect(WordAlignment.wordIndices(["Hal", "lo", "▁Welt"]) == [0, 0, 1])
        #expect(WordAlignment.wordIndices(["</s>"]) == [nil])
    }
}
